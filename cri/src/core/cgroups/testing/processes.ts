/**
 * Child processes for the root tests: started waiting on stdin so the test can move them
 * into a cgroup before they do the thing being limited, and observed through /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { CgroupManager } from "../cgroup-manager.js";

export interface Waiting {
  child: ChildProcess;
  pid: number;
  /** Let it proceed past its initial read. */
  go(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Spawn `argv`; it should block reading a line from stdin before doing its work. */
export function spawnWaiting(argv: string[]): Waiting {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("empty argv");
  const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error(`spawn ${cmd} failed`);
  return {
    child,
    pid: child.pid,
    go: () => child.stdin?.write("go\n"),
    exited,
    stderr: () => err,
  };
}

/** A shell that spins on the CPU once told to go. */
export const busyLoop = ["/bin/sh", "-c", "read x; while :; do :; done"];

/** CPU time used so far by a process, in clock ticks (utime + stime of /proc/<pid>/stat). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Best-effort: thaw, SIGKILL everything inside, then remove the cgroup. */
export async function tearDown(m: CgroupManager): Promise<void> {
  if (!(await m.exists().catch(() => false))) {
    await m.destroy().catch(() => undefined);
    return;
  }
  await m.thaw().catch(() => undefined);
  for (const pid of await m.pids().catch(() => [])) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await m.destroy();
}
