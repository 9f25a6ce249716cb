// The v2 backend on this machine's cgroup2 mount, with no controllers enabled (the host's
// controllers are bound to v1): the core files are the kernel's: cgroup.procs,
// cgroup.freeze with cgroup.events, cpu.stat. Controller files are covered on plain
// directories in manager.test.ts, and hugetlb through the host manager's root test.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SkiffError } from "../../errors.js";
import { discoverHierarchies, readProcCgroup } from "../hierarchy.js";
import { describeCgroupManagerContract } from "../testing/conformance.js";
import { busyLoop, cpuTicks, spawnWaiting, tearDown, type Waiting } from "../testing/processes.js";
import { V2CgroupManager } from "./manager.js";

const base = `skiff-test-${randomBytes(4).toString("hex")}`;
let mountpoint = "";
const children: Waiting[] = [];
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
const manager = (name: string) => new V2CgroupManager(`${base}/${name}`, mountpoint, []);
const start = (argv: string[]): Waiting => {
  const w = spawnWaiting(argv);
  children.push(w);
  return w;
};

beforeAll(async () => {
  const h = await discoverHierarchies();
  if (h.unified === undefined) throw new Error("this host has no cgroup2 mount");
  mountpoint = h.unified.mountpoint;
});

afterAll(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  if (mountpoint !== "") await tearDown(new V2CgroupManager(base, mountpoint, []));
});

describe("V2CgroupManager on the real cgroup2 mount", () => {
  test("a placed process shows in cgroup.procs and in /proc/<pid>/cgroup", async () => {
    const m = manager("procs");
    await m.create();
    const w = start(["/bin/sh", "-c", "read x"]);
    await m.addProcess(w.pid);
    expect(await m.pids()).toEqual([w.pid]);
    expect((await readProcCgroup(w.pid)).get("")).toBe(`/${m.path}`);
    w.go();
    await w.exited;
    expect(await m.pids()).toEqual([]);
    await m.destroy();
  });

  test("cgroup.freeze stops a busy process and thaw resumes it", async () => {
    const m = manager("freeze");
    await m.create();
    const busy = start(busyLoop);
    await m.addProcess(busy.pid);
    busy.go();
    await sleep(200);
    await m.freeze();
    expect(await readFile(join(m.dir, "cgroup.events"), "utf8")).toContain("frozen 1");
    const t0 = await cpuTicks(busy.pid);
    await sleep(400);
    expect(await cpuTicks(busy.pid)).toBe(t0);
    await m.thaw();
    expect(await readFile(join(m.dir, "cgroup.events"), "utf8")).toContain("frozen 0");
    await sleep(400);
    expect(await cpuTicks(busy.pid)).toBeGreaterThan(t0 + 5);
    await tearDown(m);
  });

  test("a frozen cgroup's processes can still be killed and the cgroup removed", async () => {
    const m = manager("frozen-kill");
    await m.create();
    const busy = start(busyLoop);
    await m.addProcess(busy.pid);
    busy.go();
    await m.freeze();
    busy.child.kill("SIGKILL");
    expect((await busy.exited).signal).toBe("SIGKILL");
    await m.destroy();
    expect(await exists(m.dir)).toBe(false);
  });

  test("cpu.stat reports the CPU time of a busy process", async () => {
    const m = manager("cpu");
    await m.create();
    const busy = start(busyLoop);
    await m.addProcess(busy.pid);
    busy.go();
    await sleep(500);
    const s = await m.stats();
    expect(s.cpu?.usageNanos).toBeGreaterThan(50_000_000);
    expect(s.cpu?.userNanos).toBeGreaterThan(0);
    await tearDown(m);
  });

  test("a rejected unified write is InvalidArgument and leaves no directory", async () => {
    const m = manager("bad/leaf");
    const err = await m
      .create({ unified: { "cgroup.max.depth": "not-a-number" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).kind).toBe("InvalidArgument");
    expect((err as Error).message).toContain("cgroup.max.depth");
    expect(await exists(join(mountpoint, base, "bad"))).toBe(false);
  });

  test("destroy removes nested cgroups and is idempotent", async () => {
    const m = manager("nest");
    await m.create();
    const inner = new V2CgroupManager(`${m.path}/a/b`, mountpoint, []);
    await inner.create();
    await m.destroy();
    expect(await exists(m.dir)).toBe(false);
    await m.destroy();
  });
});

describeCgroupManagerContract("v2 backend on the real cgroup2 mount", () => ({
  make: (path) => new V2CgroupManager(path, mountpoint, []),
  base,
  limits: { unified: { "cgroup.max.depth": "4" } },
  bad: { unified: { "cgroup.max.depth": "not-a-number" } },
}));
