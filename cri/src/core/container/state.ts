/**
 * A container's record on disk: one directory per container under the runtime's root,
 * shared with skiff-shim (which writes pid, ctl, attach and exit there). Skiff adds
 * container.json (what it decided at create) and spec.json (the spec it ran), each
 * written atomically (temp file + rename), so a crash leaves the old or the new file.
 *
 *   create ──► created ──start──► running ──(process exits)──► stopped ──delete──► gone
 *      │                                                          ▲
 *      └───────────── (process killed before start) ──────────────┘
 *
 * The status is derived, never stored: an exit file means stopped; otherwise a live
 * container process (same pid and start time as recorded) means created or running
 * (started says which); a process that is gone without an exit file (its monitor was
 * killed too) is stopped.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SkiffError, SystemError, errnoCode, invalidArgument } from "../errors.js";
import type { ContainerStatus } from "../oci/spec.js";

export interface ContainerRecord {
  id: string;
  bundle: string;
  pid: number;
  /** /proc/<pid>/stat start time, to tell our process from a reused pid. */
  pidStartTime: string;
  monitorPid: number;
  createdAt: string;
  started: boolean;
  startedAt?: string;
  cgroupPath: string;
  annotations: Record<string, string>;
}

export const recordFile = "container.json";
export const specFile = "spec.json";

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkContainerId(id: string): void {
  if (!idPattern.test(id)) {
    throw invalidArgument(
      `container id ${JSON.stringify(id)} must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(value, null, 2));
    renameSync(tmp, path);
  } catch (err) {
    throw new SystemError("write", path, err);
  }
}

export function readJson<T>(path: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new SkiffError("NotFound", `${what} not found`);
    throw new SystemError("read", path, err);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SkiffError("DataLoss", `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Field 22 of /proc/<pid>/stat, or undefined when the process is gone. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after its last ")"
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X") return undefined;
  return fields[19];
}

export function isAlive(record: ContainerRecord): boolean {
  return record.pid > 0 && processStartTime(record.pid) === record.pidStartTime;
}

export function deriveStatus(record: ContainerRecord, hasExitFile: boolean): ContainerStatus {
  if (hasExitFile || !isAlive(record)) return "stopped";
  return record.started ? "running" : "created";
}

export const containerDir = (root: string, id: string): string => join(root, id);
