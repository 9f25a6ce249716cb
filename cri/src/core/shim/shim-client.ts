/**
 * The TS side of skiff-shim (cri/native): runs `skiff-shim create` and `skiff-shim exec`
 * with an encoded plan on fd 3 and the status line on fd 4, and talks to a container's
 * monitor through its state dir:
 *   pid     container pid (host view), written before create returns
 *   ctl     fifo read by the monitor: "s" start, "r" reopen log, "w ROWS COLS" resize;
 *           written with O_NONBLOCK so a dead monitor fails at once (ENXIO)
 *   attach  unix stream socket (frames: see cri/native/monitor.c)
 *   exit    "code N\nsignal N\ntime_ns N\noom_killed 0|1\n[error MSG\n]", by rename
 * Signals are plain process.kill(pid). Errors the shim reports ("<stage>: <detail>:
 * ENAME (n)") become a SystemError (op "skiff-shim <stage>"), or an InvalidArgument
 * SkiffError when the shim refused the plan without a system error.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { constants, openSync, closeSync, writeSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

import { SkiffError, SystemError, type ErrorKind } from "../errors.js";
import { encodePlan, type ShimPlan } from "./plan.js";
import { launch, shimBinary } from "./launch.js";

export interface CreateResult {
  pid: number;
  monitorPid: number;
}

export interface ExitStatus {
  /** exit code, or 128 + signal when killed */
  exitCode: number;
  signal: number;
  /** nanoseconds since the epoch */
  exitedAtNs: bigint;
  oomKilled: boolean;
  /** set when the process could not be executed after start */
  error?: string;
}

export interface ExecResult {
  exitCode: number;
  signal: number;
}

export const statePaths = (stateDir: string) => ({
  pid: join(stateDir, "pid"),
  ctl: join(stateDir, "ctl"),
  attach: join(stateDir, "attach"),
  exit: join(stateDir, "exit"),
});

/**
 * The kind of a failure of the process's own program or working directory (stages
 * "exec" and "cwd"): the command asked for is missing or not runnable, which is the
 * caller's to fix, not an internal error.
 */
const commandErrnoKinds: Readonly<Record<string, ErrorKind>> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotFound",
  EACCES: "FailedPrecondition",
  EPERM: "FailedPrecondition",
  ENOEXEC: "FailedPrecondition",
  EISDIR: "FailedPrecondition",
  ELOOP: "FailedPrecondition",
  ENAMETOOLONG: "InvalidArgument",
};

/** Turns the shim's "error ..." line into the error a caller throws. */
export function shimError(line: string): SkiffError {
  const text = line.replace(/^error /, "").trim();
  const m = /^([^:]+): (.*): (E[A-Z0-9]+) \((\d+)\)$/.exec(text);
  if (m) {
    const [, stage, detail, code, errno] = m as unknown as [string, string, string, string, string];
    const cause = Object.assign(new Error(`${code} (${errno})`), { code, errno: Number(errno) });
    const kind = stage === "exec" || stage === "cwd" ? commandErrnoKinds[code] : undefined;
    return new SystemError(`skiff-shim ${stage}`, detail, cause, kind);
  }
  return new SkiffError("InvalidArgument", `skiff-shim ${text}`);
}

function readAll(stream: Readable | null): Promise<string> {
  return new Promise((resolvePromise) => {
    if (!stream) return resolvePromise("");
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => resolvePromise(Buffer.concat(chunks).toString()));
    stream.on("close", () => resolvePromise(Buffer.concat(chunks).toString()));
  });
}

interface Running {
  child: ChildProcess;
  /** the status line(s) from fd 4 */
  status: Promise<string>;
  exited: Promise<number | null>;
}

function run(
  mode: "create" | "exec",
  plan: ShimPlan,
  stdio: StdioOptions,
  detached = false,
): Running {
  const io = (Array.isArray(stdio) ? stdio : [stdio, stdio, stdio]).slice(0, 3);
  const launchable = (s: unknown): s is "pipe" | "ignore" => s === "pipe" || s === "ignore";
  const child = io.every(launchable)
    ? launch(shimBinary(), [mode], { stdio: [...io, "pipe", "pipe"], detached })
    : spawn(shimBinary(), [mode], { stdio: [...io, "pipe", "pipe"], detached });
  return started(child, child.stdio[3] as Writable, plan);
}

/** Sends `plan` to a spawned shim on `planFd` and follows its status and exit. */
function started(child: ChildProcess, planFd: Writable, plan: ShimPlan): Running {
  planFd.on("error", () => undefined); // the shim exiting early reports on fd 4
  planFd.end(encodePlan(plan));
  const status = readAll(child.stdio[4] as Readable);
  const exited = new Promise<number | null>((resolvePromise, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise(child.exitCode);
    child.on("error", (err) => reject(new SystemError("spawn", shimBinary(), err)));
    child.on("exit", (code) => resolvePromise(code));
  });
  return { child, status, exited };
}

/**
 * A spare exec shim: `skiff-shim exec --spare`, spawned with piped stdio ahead of an
 * exec into a container, joins the container's cgroups at once and then waits for the
 * exec's plan (execInContainer's `spare`). Moving a process into a cgroup v1 hierarchy
 * can wait for an RCU grace period (about 10 ms here when the node is idle); a spare
 * pays it before the exec is asked for. It exits, having run nothing, when its plan fd
 * closes empty (discardSpare, or skiff-cri gone).
 */
export function spawnSpareExec(cgroups: Pick<ShimPlan, "cgroupV1" | "cgroupV2">): ChildProcess {
  const child = spawn(shimBinary(), ["exec", "--spare"], {
    stdio: ["pipe", "pipe", "pipe", "pipe", "pipe", "pipe"],
  });
  child.on("error", () => undefined);
  for (const fd of [3, 5]) fdOf(child, fd).on("error", () => undefined);
  fdOf(child, 3).end(encodePlan({ namespaces: [], env: [], cwd: "/", args: [], ...cgroups }));
  return child;
}

/** A pipe the child was spawned with beyond its stdio (fd 3 and up). */
const fdOf = (child: ChildProcess, fd: number): Writable =>
  (child.stdio as unknown as Writable[])[fd]!;

/** Lets a spare exec shim go without running anything. */
export function discardSpare(child: ChildProcess): void {
  fdOf(child, 5).destroy();
  child.kill("SIGKILL");
}

/** Creates a container: returns once it is set up and blocked before execve. */
export async function createContainer(
  plan: ShimPlan & { stateDir: string; rootfs: string },
): Promise<CreateResult> {
  const { status, exited } = run("create", plan, "ignore");
  const [line, code] = await Promise.all([status, exited]);
  const m = /^ok (\d+) (\d+)/.exec(line);
  if (code === 0 && m) return { pid: Number(m[1]), monitorPid: Number(m[2]) };
  throw shimError(line || `error create: skiff-shim exited with ${code}`);
}

function control(stateDir: string, command: string): void {
  const path = statePaths(stateDir).ctl;
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new SystemError("open monitor control fifo", path, err, "FailedPrecondition");
  }
  try {
    writeSync(fd, command);
  } finally {
    closeSync(fd);
  }
}

/** Lets a created container execve its process (no process is spawned). */
export const startContainer = (stateDir: string): void => control(stateDir, "s\n");

/** CRI ReopenContainerLog: the monitor reopens its log path. */
export const reopenContainerLog = (stateDir: string): void => control(stateDir, "r\n");

export const resizeTerminal = (stateDir: string, rows: number, cols: number): void =>
  control(stateDir, `w ${Math.trunc(rows)} ${Math.trunc(cols)}\n`);

export function parseExitFile(text: string): ExitStatus {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) fields.set(line.slice(0, space), line.slice(space + 1));
  }
  const status: ExitStatus = {
    exitCode: Number(fields.get("code") ?? -1),
    signal: Number(fields.get("signal") ?? 0),
    exitedAtNs: BigInt(fields.get("time_ns") ?? "0"),
    oomKilled: fields.get("oom_killed") === "1",
  };
  const error = fields.get("error");
  if (error !== undefined) status.error = error;
  return status;
}

/** The exit file, or undefined while the container has not exited. */
export async function readExitFile(stateDir: string): Promise<ExitStatus | undefined> {
  const path = statePaths(stateDir).exit;
  try {
    return parseExitFile(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SystemError("read exit file", path, err);
  }
}

/** Waits (inotify on the state dir) for the exit file. */
export async function waitForExit(stateDir: string, timeoutMs = 30_000): Promise<ExitStatus> {
  const ac = new AbortController();
  const changed = new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      reject(
        new SkiffError("DeadlineExceeded", `no exit file in ${stateDir} after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const w = watch(stateDir, { signal: ac.signal }, (_event, name) => {
      if (name === "exit") resolvePromise();
    });
    w.on("error", () => undefined);
    ac.signal.addEventListener("abort", () => clearTimeout(timer));
  });
  changed.catch(() => undefined);
  try {
    for (;;) {
      const status = await readExitFile(stateDir);
      if (status) return status;
      await Promise.race([changed, new Promise((r) => setTimeout(r, 200))]);
    }
  } finally {
    ac.abort();
  }
}

/**
 * Runs a process in a running container. stdio: the process's fds 0-2 (pipes or
 * inherited fds); with plan.terminal the shim relays its own stdin/stdout to a pty.
 */
export function execInContainer(
  plan: ShimPlan,
  stdio: StdioOptions = "pipe",
  options: { detached?: boolean; spare?: ChildProcess } = {},
): { child: ChildProcess; result: Promise<ExecResult>; pid: Promise<number> } {
  const { spare } = options;
  const { child, status, exited } = spare
    ? started(spare, fdOf(spare, 5), plan)
    : run("exec", plan, stdio, options.detached);
  // "pid N" once the process runs its program, then "exit CODE SIGNAL" (or "error ...")
  const pid = new Promise<number>((resolvePromise, reject) => {
    let seen = "";
    const fd4 = child.stdio[4] as Readable;
    const onData = (c: Buffer) => {
      seen += c.toString();
      const m = /^pid (\d+)$/m.exec(seen);
      if (m) {
        fd4.off("data", onData);
        resolvePromise(Number(m[1]));
      }
    };
    fd4.on("data", onData);
    void status.then((line) => {
      if (!/^pid \d+$/m.test(line)) reject(shimError(line || "error exec: skiff-shim exited"));
    });
  });
  pid.catch(() => undefined); // callers that want only the result need not await it
  const result = Promise.all([status, exited]).then(([text, code]) => {
    const m = /^exit (\d+) (\d+)/m.exec(text);
    if (m) return { exitCode: Number(m[1]), signal: Number(m[2]) };
    const line = text.replace(/^pid \d+\n/m, "");
    throw shimError(line || `error exec: skiff-shim exited with ${code}`);
  });
  return { child, result, pid };
}
