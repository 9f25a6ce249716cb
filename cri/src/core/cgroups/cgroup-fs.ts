/**
 * File access to cgroup filesystems (cgroupfs v1 and cgroup2), behind a small interface so
 * the controllers can also be exercised on a plain temporary directory in unit tests.
 *
 * Kernel rules this module encodes:
 *  - control files are written with O_WRONLY|O_TRUNC and never created: a missing file
 *    means the controller or feature is absent, and is reported as such;
 *  - the kernel validates on write(): EINVAL/ERANGE/EOVERFLOW mean the value is bad
 *    (InvalidArgument), EBUSY/ENOSPC mean the cgroup's state forbids it now
 *    (FailedPrecondition), ESRCH on cgroup.procs means the process is gone (NotFound);
 *  - a cgroup directory is removed with rmdir(2) only (its control files cannot be
 *    unlinked), after its child cgroups.
 */
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SystemError, errnoCode, type ErrorKind } from "../errors.js";

export interface CgroupFs {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** mkdir(2) of one level; false when it already existed. */
  mkdir(path: string): Promise<boolean>;
  /** rmdir(2) of one empty cgroup (no children, no processes). */
  rmdir(path: string): Promise<void>;
  /** Names of the child cgroups (sub-directories). */
  children(path: string): Promise<string[]>;
  /** Names of the control files in a cgroup directory. */
  files(path: string): Promise<string[]>;
}

/** A rejected write to a cgroup control file, naming the file and the value. */
export class CgroupWriteError extends SystemError {
  readonly file: string;
  readonly value: string;

  constructor(file: string, value: string, cause: unknown) {
    super(`write ${JSON.stringify(value)} to`, file, cause, writeErrorKind(errnoCode(cause)));
    this.name = "CgroupWriteError";
    this.file = file;
    this.value = value;
  }
}

function writeErrorKind(code: string | undefined): ErrorKind {
  switch (code) {
    case "EINVAL":
    case "ERANGE":
    case "EOVERFLOW":
      return "InvalidArgument";
    case "EBUSY":
    case "ENOSPC":
    case "ENOENT":
    case "EOPNOTSUPP":
    case "ENOTSUP":
      return "FailedPrecondition";
    case "ESRCH":
      return "NotFound";
    case "EACCES":
    case "EPERM":
      return "PermissionDenied";
    default:
      return "Internal";
  }
}

/**
 * The real cgroup filesystems. The calls are synchronous behind the async interface:
 * cgroupfs answers from memory, and a thread-pool round trip per file made creating a
 * container's cgroup (a dozen v1 hierarchies, parents, a few files each) take 5 ms.
 */
export const kernelCgroupFs: CgroupFs = {
  async read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new SystemError(
        "read",
        path,
        err,
        errnoCode(err) === "ENOENT" ? "NotFound" : "Internal",
      );
    }
  },
  async write(path, value) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
    } catch (err) {
      throw new CgroupWriteError(path, value, err);
    }
    try {
      // One write(2): the kernel parses each write on its own.
      writeSync(fd, value);
    } catch (err) {
      throw new CgroupWriteError(path, value, err);
    } finally {
      closeSync(fd);
    }
  },
  async exists(path) {
    try {
      statSync(path);
      return true;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw new SystemError("stat", path, err);
    }
  },
  async mkdir(path) {
    try {
      mkdirSync(path);
      return true;
    } catch (err) {
      if (errnoCode(err) === "EEXIST") return false;
      throw new SystemError("mkdir", path, err);
    }
  },
  async rmdir(path) {
    try {
      rmdirSync(path);
    } catch (err) {
      const code = errnoCode(err);
      const kind: ErrorKind =
        code === "ENOENT" ? "NotFound" : code === "EBUSY" ? "FailedPrecondition" : "Internal";
      throw new SystemError("rmdir", path, err, kind);
    }
  },
  async children(path) {
    try {
      const entries = readdirSync(path, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw new SystemError("readdir", path, err);
    }
  },
  async files(path) {
    try {
      const entries = readdirSync(path, { withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) => e.name);
    } catch (err) {
      throw new SystemError(
        "readdir",
        path,
        err,
        errnoCode(err) === "ENOENT" ? "NotFound" : "Internal",
      );
    }
  },
};

/** Read a control file that may be absent (feature not built in): undefined when missing. */
export async function readOptional(fs: CgroupFs, path: string): Promise<string | undefined> {
  try {
    return await fs.read(path);
  } catch (err) {
    if (err instanceof SystemError && err.code === "ENOENT") return undefined;
    throw err;
  }
}

/** Parse "key value" lines (memory.stat, cpu.stat, memory.events, ...) into numbers. */
export function parseKeyedLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || key === "" || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** Parse a single-number file; "max" (v2) and v1's page-rounded INT64_MAX give undefined. */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === "max" || t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n) || n >= 2 ** 62) return undefined;
  return n;
}

export function parseNumber(text: string, path: string): number {
  const n = Number(text.trim());
  if (!Number.isFinite(n)) {
    throw new SystemError("parse", path, new Error(`not a number: ${JSON.stringify(text)}`));
  }
  return n;
}

export const file = (dir: string, name: string): string => join(dir, name);

/** Pids listed in a cgroup.procs file. */
export async function readProcs(fs: CgroupFs, dir: string): Promise<number[]> {
  const text = await fs.read(file(dir, "cgroup.procs"));
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

/** Pids in a cgroup and all its descendants; [] when the cgroup does not exist. */
export async function readProcsTree(fs: CgroupFs, dir: string): Promise<number[]> {
  if (!(await fs.exists(dir))) return [];
  const out = await readProcs(fs, dir);
  for (const child of await fs.children(dir))
    out.push(...(await readProcsTree(fs, join(dir, child))));
  return out;
}

/**
 * Remove a cgroup and its descendants, deepest first. rmdir fails with EBUSY while tasks
 * remain (a killed task leaves its cgroup only once fully exited), so it is retried until
 * `timeoutMs`; then the error lists the pids still inside. A missing cgroup is fine.
 */
export async function removeCgroupTree(
  fs: CgroupFs,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  for (const child of await fs.children(dir))
    await removeCgroupTree(fs, join(dir, child), timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      if (err instanceof SystemError && err.code === "ENOENT") return;
      if (!(err instanceof SystemError && err.code === "EBUSY") || Date.now() >= deadline) {
        if (err instanceof SystemError && err.code === "EBUSY") {
          const pids = await readProcs(fs, dir).catch(() => []);
          throw new SystemError(
            `rmdir (processes still inside: ${pids.join(" ") || "none listed"})`,
            dir,
            err.cause,
            "FailedPrecondition",
          );
        }
        throw err;
      }
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Undo a create: remove the directories it made, deepest first. Errors are ignored: a
 * parent another create has since populated stays (EBUSY), which is what it should do.
 */
export async function removeMade(fs: CgroupFs, made: readonly string[]): Promise<void> {
  for (const dir of [...made].reverse()) await fs.rmdir(dir).catch(() => undefined);
}
