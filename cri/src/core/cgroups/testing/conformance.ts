/**
 * The CgroupManager contract as one jest suite, run against every implementation: the v1
 * and v2 backends on plain directories (unit tests) and on the kernel, and the host
 * manager on the kernel (root tests).
 */
import { describe, expect, test } from "@jest/globals";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { SkiffError } from "../../errors.js";
import type { CgroupManager } from "../cgroup-manager.js";
import type { LinuxResources } from "../resources.js";

export interface ConformanceTarget {
  /** A manager for `path`, a path under a test-owned base. */
  make(path: string): CgroupManager;
  /** The test-owned base path the suite works under (it exists or is created by make). */
  base: string;
  /** Resources the target accepts. */
  limits: LinuxResources;
  /** Resources with a value the target refuses (InvalidArgument) after making directories. */
  bad: LinuxResources;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

export function describeCgroupManagerContract(name: string, target: () => ConformanceTarget) {
  describe(`CgroupManager contract: ${name}`, () => {
    test("create, exists, procsPaths, destroy, destroy again", async () => {
      const t = target();
      const m = t.make(`${t.base}/contract-life/c`);
      expect(m.path).toBe(`${t.base}/contract-life/c`);
      expect(await m.exists()).toBe(false);
      await m.create(t.limits);
      expect(await m.exists()).toBe(true);
      const procs = m.procsPaths();
      expect(procs.length).toBeGreaterThan(0);
      for (const p of procs) expect(await exists(p)).toBe(true);
      expect(await m.pids()).toEqual([]);
      await m.destroy();
      expect(await m.exists()).toBe(false);
      for (const p of procs) expect(await exists(dirname(p))).toBe(false);
      await m.destroy();
    });

    test("create of an existing cgroup adopts it", async () => {
      const t = target();
      const m = t.make(`${t.base}/contract-adopt`);
      await m.create();
      await m.create(t.limits);
      expect(await m.exists()).toBe(true);
      await m.destroy();
    });

    test("a refused value fails create with InvalidArgument and leaves nothing", async () => {
      const t = target();
      const parent = t.make(`${t.base}/contract-bad`);
      await parent.create();
      const m = t.make(`${t.base}/contract-bad/mid/leaf`);
      const err = await m.create(t.bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SkiffError);
      expect((err as SkiffError).kind).toBe("InvalidArgument");
      expect(await m.exists()).toBe(false);
      for (const p of m.procsPaths()) expect(await exists(dirname(dirname(p)))).toBe(false);
      expect(await parent.exists()).toBe(true);
      await parent.destroy();
    });

    test("update needs the cgroup; leading and doubled slashes are normalized", async () => {
      const t = target();
      const m = t.make(`/${t.base}//contract-update/`);
      expect(m.path).toBe(`${t.base}/contract-update`);
      await expect(m.update(t.limits)).rejects.toMatchObject({ kind: "NotFound" });
      await m.create();
      await m.update(t.limits);
      await m.destroy();
    });

    test("paths that could escape the hierarchy are refused", () => {
      const t = target();
      expect(() => t.make(`${t.base}/../x`)).toThrow(SkiffError);
      expect(() => t.make("/")).toThrow(SkiffError);
    });
  });
}
