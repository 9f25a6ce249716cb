/**
 * Helpers shared by the shim's root tests: run a plan to completion, read CRI logs back,
 * and keep track of what must be cleaned up (bundles, live processes).
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

import type { ShimPlan } from "./plan.js";
import { createContainer, startContainer, waitForExit, type ExitStatus } from "./shim-client.js";
import { defaultPlan, makeBundle, removeBundle } from "./shim-fixtures.js";

export interface LogRecord {
  time: string;
  stream: "stdout" | "stderr";
  tag: "P" | "F";
  text: string;
}

export function readLog(path: string): LogRecord[] {
  if (!existsSync(path)) return [];
  const records: LogRecord[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(line);
    if (m) records.push({ time: m[1]!, stream: m[2] as "stdout", tag: m[3] as "P", text: m[4]! });
  }
  return records;
}

/** The lines a reader of the log sees for one stream (P records joined to the next F). */
export function logLines(path: string, stream: "stdout" | "stderr" = "stdout"): string[] {
  const lines: string[] = [];
  let partial = "";
  for (const r of readLog(path)) {
    if (r.stream !== stream) continue;
    partial += r.text;
    if (r.tag === "F") {
      lines.push(partial);
      partial = "";
    }
  }
  if (partial) lines.push(partial);
  return lines;
}

export class Scratch {
  private readonly dirs: string[] = [];
  private readonly pids: number[] = [];

  bundle(args: string[], edit?: (plan: ReturnType<typeof defaultPlan>) => void) {
    const b = makeBundle();
    this.dirs.push(b.dir);
    const plan = defaultPlan(b.rootfs, b.stateDir, args);
    edit?.(plan);
    return { ...b, plan };
  }

  track(pid: number): void {
    this.pids.push(pid);
  }

  async cleanup(): Promise<void> {
    // every container a bundle holds, including one created by a test that expected an error
    for (const d of this.dirs) {
      const pidFile = join(d, "state", "pid");
      if (existsSync(pidFile)) this.pids.push(Number(readFileSync(pidFile, "utf8")));
    }
    for (const pid of this.pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    for (const d of this.dirs.splice(0)) removeBundle(d);
  }

  /** create + start + wait; returns the exit status and the stdout/stderr lines. */
  async run(
    args: string[],
    edit?: (plan: ReturnType<typeof defaultPlan>) => void,
  ): Promise<{ status: ExitStatus; out: string[]; err: string[]; plan: ShimPlan }> {
    const { plan, stateDir } = this.bundle(args, edit);
    const { pid } = await createContainer(plan);
    this.track(pid);
    startContainer(stateDir);
    const status = await waitForExit(stateDir, 20_000);
    return { status, out: logLines(plan.logPath!), err: logLines(plan.logPath!, "stderr"), plan };
  }
}
