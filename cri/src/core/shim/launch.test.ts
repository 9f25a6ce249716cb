/**
 * The launch pool against the built skiff-shim: programs run from launchers spawned
 * ahead, with their args, environment, session and stdio; failures read as execFile's.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { closeLaunchPool, enableLaunchPool, launch, launchFile } from "./launch.js";

/** Pids of this process's children that are waiting launchers. */
function waitingLaunchers(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (ppid === process.pid && cmdline[1] === "launch") pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function untilLaunchers(n: number): Promise<number[]> {
  for (let i = 0; i < 100 && waitingLaunchers().length < n; i++) await sleep(20);
  return waitingLaunchers();
}

describe("launch pool", () => {
  beforeAll(() => enableLaunchPool(2));
  afterAll(() => closeLaunchPool());

  test("a program runs in a launcher spawned ahead: its args, environment and pid", async () => {
    const ready = await untilLaunchers(2);
    expect(ready.length).toBe(2);
    const child = launch("sh", ["-c", 'echo "$$ $GREETING $0"', "named"], {
      env: { GREETING: "hello", PATH: "/usr/bin:/bin" },
    });
    expect(ready).toContain(child.pid);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.once("close", r));
    expect(code).toBe(0);
    expect(out).toBe(`${child.pid} hello named\n`);
  });

  test("detached: a session of its own; ignored stdio is drained", async () => {
    await untilLaunchers(2);
    const child = launch(
      "sh",
      ["-c", "head -c 1000000 /dev/zero; cut -d' ' -f6 /proc/$$/stat >&2"],
      {
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    expect(await new Promise((r) => child.once("close", r))).toBe(0);
    expect(Number(err.trim())).toBe(child.pid);
  });

  test("launchFile: output, a failure's exit code and stderr, a timeout, a missing program", async () => {
    await expect(launchFile("sh", ["-c", "echo out; echo err >&2"])).resolves.toEqual({
      stdout: "out\n",
      stderr: "err\n",
    });
    await expect(launchFile("sh", ["-c", "echo bad >&2; exit 3"])).rejects.toMatchObject({
      code: 3,
      stderr: "bad\n",
    });
    await expect(launchFile("sleep", ["10"], { timeoutMs: 100 })).rejects.toMatchObject({
      signal: "SIGKILL",
      killed: true,
    });
    await untilLaunchers(1);
    await expect(launchFile("/nonexistent/program", [])).rejects.toMatchObject({
      stderr: expect.stringContaining("exec /nonexistent/program") as unknown as string,
    });
    expect(() => launch("echo", ["a\0b"])).toThrow(/NUL/);
  });
});
