/**
 * Starting programs without forking skiff-cri on the request path. Node's spawn forks
 * the whole daemon and waits for the child's execve, which blocks the event loop for
 * milliseconds (measured here: 6 ms for a bare Node, 12 ms at 130 MiB RSS), and a pod
 * start runs several programs (skiff-shim's netns, mount and create, CNI plugins). With
 * the pool enabled (skiff-cri does), a few `skiff-shim launch` processes are spawned
 * ahead, while the daemon is idle; `launch` hands one the program to exec on its fd 5,
 * and its pid, exit and stdio pipes are the program's. An empty pool falls back to a
 * plain spawn.
 *
 * Every launched process has pipes as fds 0-4 (3 and 4 carry skiff-shim's plan and
 * status); a caller that does not use one says "ignore" and it is drained or closed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";

import { SkiffError, failedPrecondition } from "../errors.js";

const foundBinaries = new Map<string, string>();

/**
 * A program of cri/native: $`envVar`, else cri/native/build/`name` found above this
 * module (cached).
 */
export function nativeBinary(name: string, envVar: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const known = foundBinaries.get(name);
  if (known) return known;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, "cri", "native", "build", name);
    if (existsSync(candidate)) {
      foundBinaries.set(name, candidate);
      return candidate;
    }
    dir = resolve(dir, "..");
  }
  throw failedPrecondition(`${name} binary not found (build cri/native or set ${envVar})`);
}

/** $SKIFF_SHIM, else cri/native/build/skiff-shim. */
export const shimBinary = (): string => nativeBinary("skiff-shim", "SKIFF_SHIM");

export type LaunchStdio = "pipe" | "ignore";

export interface LaunchOptions {
  /** fds 0-4 (default: pipes for 0-2, none for 3-4) */
  stdio?: LaunchStdio[];
  /** the program's whole environment (default: skiff-cri's) */
  env?: NodeJS.ProcessEnv;
  /** its own session and process group (spawn's detached) */
  detached?: boolean;
}

const spawnFds = 6;
/**
 * A spawn blocks the event loop (6-15 ms), so a launcher is spawned only when none was
 * taken for launchQuietMs and no request began for requestQuietMs: between the steps
 * of a burst of requests, not in front of one.
 */
const launchQuietMs = 50;
const requestQuietMs = 20;
let poolSize = 0;
const pool: ChildProcess[] = [];
let refill: NodeJS.Timeout | undefined;
let lastTaken = 0;
let lastRequest = 0;

/** A request began (the gRPC layer says so): the pool's refill waits for a gap. */
export function noteRequest(): void {
  lastRequest = Date.now();
}

/**
 * Keeps `size` launchers ready from now on (skiff-cri's start). A pod start takes about
 * six (/dev/shm and rootfs mounts, the netns, CNI plugins, two skiff-shim creates), so
 * the default pool covers one without a spawn on its way.
 */
export function enableLaunchPool(size = 8): void {
  poolSize = size;
  scheduleRefill(0);
}

/** Lets the ready launchers go (skiff-cri's stop). */
export function closeLaunchPool(): void {
  poolSize = 0;
  clearTimeout(refill);
  refill = undefined;
  for (const launcher of pool.splice(0)) launcher.kill("SIGKILL");
}

function scheduleRefill(delay: number): void {
  if (refill || pool.length >= poolSize) return;
  refill = setTimeout(() => {
    refill = undefined;
    const now = Date.now();
    const wait = Math.max(launchQuietMs - (now - lastTaken), requestQuietMs - (now - lastRequest));
    if (wait > 0) return scheduleRefill(wait);
    if (pool.length >= poolSize) return;
    const launcher = spawn(shimBinary(), ["launch"], { stdio: Array(spawnFds).fill("pipe") });
    launcher.on("error", () => undefined);
    for (const s of launcher.stdio) s?.on("error", () => undefined);
    launcher.once("exit", () => {
      const i = pool.indexOf(launcher);
      if (i >= 0) pool.splice(i, 1);
    });
    if (launcher.pid !== undefined) pool.push(launcher);
    scheduleRefill(1); // the next one on a later turn: requests that came meanwhile go first
  }, delay);
  refill.unref();
}

/** `file args` started with fds 0-4 as `options.stdio` says, from the pool when it can. */
export function launch(file: string, args: string[], options: LaunchOptions = {}): ChildProcess {
  const stdio = options.stdio ?? ["pipe", "pipe", "pipe"];
  const records = ["version", "1", "arg", file, ...args.flatMap((a) => ["arg", a])];
  for (const [k, v] of Object.entries(options.env ?? {}))
    if (v !== undefined) records.push("env", `${k}=${v}`);
  if (options.detached) records.push("setsid");
  if (records.some((r) => r.includes("\0")))
    throw new SkiffError("InvalidArgument", `launch ${file}: an argument holds a NUL byte`);
  const launcher = pool.shift();
  lastTaken = Date.now();
  scheduleRefill(launchQuietMs);
  if (!launcher) {
    return spawn(file, args, {
      stdio: Array.from({ length: stdio.length }, (_, fd) => stdio[fd] ?? "ignore"),
      env: options.env ?? process.env,
      detached: options.detached === true,
    });
  }
  const fds = launcher.stdio as unknown as (Readable & Writable)[];
  fds[5]!.end(Buffer.from(records.map((r) => `${r}\0`).join("")));
  for (let fd = 0; fd < 5; fd++) {
    if ((stdio[fd] ?? "ignore") === "pipe") continue;
    if (fd === 0 || fd === 3) fds[fd]!.end();
    else fds[fd]!.resume();
  }
  return launcher;
}

/** execFile over launch: resolves with the output, rejects as execFile does. */
export function launchFile(
  file: string,
  args: string[],
  options: LaunchOptions & { timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = launch(file, args, options);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin?.end();
    let killed = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => (killed = child.kill("SIGKILL")), options.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(Object.assign(err, { stdout, stderr }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise({ stdout, stderr });
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      reject(
        Object.assign(new Error(`${file} ${args.join(" ")}: ${why}: ${stderr.trim()}`), {
          code,
          signal,
          killed,
          stdout,
          stderr,
        }),
      );
    });
  });
}
