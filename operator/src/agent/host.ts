/**
 * The node agent's view of the host: where the host's root, /proc and /sys are mounted
 * in the agent's container (a temp dir in tests), and a command runner (modprobe). Every
 * host step goes through this, so tests point it at temp dirs and a recording runner.
 */
import { execFile } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

export interface Host {
  /** The host's / (e.g. /host in the DaemonSet). */
  root: string;
  /** The host's /proc (its sys/ holds the sysctls, swaps the swap devices). */
  proc: string;
  /** The host's /sys (module/ lists loaded modules). */
  sys: string;
  run: CommandRunner;
}

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 127
        : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 127 ? String(err.message) : "") });
    });
  });

/** A host path: `hostPath(host, "/etc/skiff")` → `<root>/etc/skiff`. */
export const hostPath = (host: Host, path: string): string => join(host.root, path);

/** Writes a file atomically (temp + rename); returns false when the content was already so. */
export function writeIfChanged(path: string, content: string, mode = 0o644): boolean {
  try {
    if (readFileSync(path, "utf8") === content) return false;
  } catch {
    // missing
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.skiff-tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
  return true;
}
