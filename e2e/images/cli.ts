/** Runs the skiff CLI (bin/skiff) against a test daemon, without blocking the event loop. */
import { spawn } from "node:child_process";
import { bin } from "../harness/skiff-cri.js";

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

export function runSkiff(
  socket: string,
  args: string[],
  options: { input?: Buffer | string; env?: Record<string, string>; command?: string[] } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [bin("skiff"), "--socket", socket];
  const child = spawn(cmd as string, [...pre, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  child.stdin.on("error", () => undefined);
  child.stdin.end(options.input);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (status) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({
        status,
        stdout: raw.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        raw,
      });
    }),
  );
}
