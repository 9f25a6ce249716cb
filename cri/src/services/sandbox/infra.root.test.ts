/**
 * skiff-infra on the real kernel: its memory (one runs per pod, so its PSS is per-pod
 * overhead) and its signals. It runs from a private copy, so no other process shares its
 * file pages and the PSS measured is the worst case: one pod alone.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { infraBinary } from "./infra.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-infra-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a private copy of skiff-infra and waits until it sleeps waiting for signals. */
async function startInfra(): Promise<ChildProcess & { pid: number }> {
  const binary = join(dir, "skiff-infra");
  copyFileSync(infraBinary(), binary);
  const child = spawn(binary, [], { stdio: "ignore" });
  const pid = child.pid!;
  for (let i = 0; !/^State:\s+S/m.test(readFileSync(`/proc/${pid}/status`, "utf8")); i++) {
    if (i > 500) throw new Error("skiff-infra never went to sleep");
    await sleep(10);
  }
  return Object.assign(child, { pid });
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | NodeJS.Signals | null>((r) =>
    child.on("exit", (code, sig) => r(code ?? sig)),
  );

describe("skiff-infra", () => {
  test("its PSS alone is at most 400 KiB; other signals are ignored, SIGTERM ends it with 0", async () => {
    const infra = await startInfra();
    const exited = exitOf(infra);
    try {
      const rollup = readFileSync(`/proc/${infra.pid}/smaps_rollup`, "utf8");
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1]);
      console.log(`skiff-infra PSS ${pss} kB`);
      expect(pss).toBeGreaterThan(0);
      expect(pss).toBeLessThanOrEqual(400);
      infra.kill("SIGHUP");
      infra.kill("SIGUSR1");
      await sleep(50);
      expect(infra.exitCode).toBeNull();
      expect(infra.signalCode).toBeNull();
      infra.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      infra.kill("SIGKILL");
    }
  });
});
