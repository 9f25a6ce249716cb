/** A real sysctl write on this kernel (net.core.somaxconn, restored afterwards). */
import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applySysctls } from "./sysctls.js";

const path = "/proc/sys/net/core/somaxconn";
const original = readFileSync(path, "utf8").trim();
const root = mkdtempSync(join(tmpdir(), "skiff-sysctl-root-"));

afterAll(() => {
  writeFileSync(path, original);
  rmSync(root, { recursive: true, force: true });
});

describe("sysctls on the real /proc", () => {
  test("writes the kernel's value and reads it back", async () => {
    const next = String(Number(original) + 1);
    const host = {
      root,
      proc: "/proc",
      sys: "/sys",
      run: async () => ({ code: 0, stdout: "", stderr: "" }),
    };
    const [result] = await applySysctls(host, { "net.core.somaxconn": next });
    expect(result).toEqual({
      name: "sysctl/net.core.somaxconn",
      outcome: "Applied",
      message: `set to ${next} (was ${original})`,
    });
    expect(readFileSync(path, "utf8").trim()).toBe(next);
  });
});
