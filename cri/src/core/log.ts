/**
 * The one pino logger of skiff-cri and the CLIs. JSON lines to stderr; children carry
 * the request or object they are about (`log.child({ rpc, container_id })`).
 */
import { pino, type Logger, type Level } from "pino";

export type { Logger };

export const logLevels: readonly Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];

export function createLogger(level: Level = "info", name = "skiff"): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything: for unit tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
