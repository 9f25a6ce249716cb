// The v2 backend and the host manager on a temporary directory standing in for a cgroup2
// mount: this machine's cgroup2 has no cpu/memory/io/pids controllers, so their files are
// checked here; the kernel's behaviour for cgroup.freeze, cgroup.procs, cpu.stat and
// hugetlb is checked in manager.root.test.ts.
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffError } from "../../errors.js";
import type { Hierarchies } from "../hierarchy.js";
import { cgroupManagerFor } from "../manager.js";
import { describeCgroupManagerContract } from "../testing/conformance.js";
import { PlainDirFs, writeFiles } from "../testing/plain-dir-fs.js";
import { V2CgroupManager } from "./manager.js";

const ALL = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"];
let root: string;
let fs: PlainDirFs;

const read = (path: string) => readFile(join(root, path), "utf8");
const exists = (path: string) =>
  stat(join(root, path)).then(
    () => true,
    () => false,
  );

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "skiff-cg-v2-"));
  await writeFiles(root, { "cgroup.controllers": ALL.join(" "), "cgroup.subtree_control": "" });
  fs = new PlainDirFs({ [root]: { "cgroup.procs": "", "cgroup.subtree_control": "" } });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("V2CgroupManager on a plain directory", () => {
  test("create enables controllers down the path and writes v2 files in the leaf", async () => {
    const m = new V2CgroupManager("kubepods/pod1/c1", root, ALL, { fs });
    await m.create({
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      memory: { limit: 100 << 20, swap: 150 << 20, reservation: 50 << 20 },
      pids: { limit: -1 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 21 }],
      blockIO: {
        weight: 500,
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 2000 }],
      },
      unified: { "memory.high": "90000000" },
    });
    for (const d of ["", "kubepods", "kubepods/pod1"]) {
      expect((await read(join(d, "cgroup.subtree_control"))).split(" ").sort()).toEqual(
        [...ALL].sort(),
      );
    }
    expect(await read("kubepods/pod1/c1/cgroup.subtree_control")).toBe("");
    const leaf = "kubepods/pod1/c1";
    expect(await read(`${leaf}/cgroup.controllers`)).not.toBe("");
    expect(await read(`${leaf}/cpu.weight`)).toBe("39");
    expect(await read(`${leaf}/cpu.max`)).toBe("50000 100000");
    expect(await read(`${leaf}/cpuset.cpus`)).toBe("0");
    expect(await read(`${leaf}/memory.max`)).toBe(String(100 << 20));
    expect(await read(`${leaf}/memory.swap.max`)).toBe(String(50 << 20));
    expect(await read(`${leaf}/memory.low`)).toBe(String(50 << 20));
    expect(await read(`${leaf}/memory.high`)).toBe("90000000");
    expect(await read(`${leaf}/pids.max`)).toBe("max");
    expect(await read(`${leaf}/hugetlb.2MB.max`)).toBe(String(2 << 21));
    expect(await read(`${leaf}/io.weight`)).toBe("default 4950");
    expect(fs.writes.filter(([p]) => p.endsWith("io.max")).map(([, v]) => v)).toEqual([
      "8:0 rbps=1000",
      "8:16 wbps=2000",
    ]);
    expect(m.procsPaths()).toEqual([join(root, leaf, "cgroup.procs")]);
    expect(m.unifiedDir()).toBe(join(root, leaf));
  });

  test("with BFQ the blkio weight goes to io.bfq.weight unscaled", async () => {
    fs = new PlainDirFs({ [root]: { "io.bfq.weight": "default 100" } });
    const m = new V2CgroupManager("c2", root, ALL, { fs });
    await m.create({
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 20 }] },
    });
    expect(fs.writes.filter(([p]) => p.endsWith("io.bfq.weight")).map(([, v]) => v)).toEqual([
      "500",
      "8:0 20",
    ]);
  });

  test("only offered controllers are enabled; the core files still work", async () => {
    await writeFiles(root, { "cgroup.controllers": "hugetlb" });
    const m = new V2CgroupManager("c3", root, ["hugetlb", "memory"], { fs });
    await m.create();
    expect(await read("cgroup.subtree_control")).toBe("hugetlb");
  });

  test("a bad unified key or swap value leaves no directory behind", async () => {
    await writeFiles(join(root, "kubepods"), {});
    const m = new V2CgroupManager("kubepods/pod9/c4", root, ["cpu"], { fs });
    await expect(m.create({ unified: { "memory.high": "1" } })).rejects.toMatchObject({
      kind: "FailedPrecondition",
    });
    expect(await exists("kubepods/pod9")).toBe(false);
    expect(await exists("kubepods")).toBe(true);
    const m2 = new V2CgroupManager("kubepods/pod9/c4", root, ALL, { fs });
    const err = await m2.create({ memory: { limit: 200, swap: 100 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).kind).toBe("InvalidArgument");
    expect(await exists("kubepods/pod9")).toBe(false);
  });

  test("realtime cpu values are refused on v2", async () => {
    const m = new V2CgroupManager("c5", root, ALL, { fs });
    await expect(m.create({ cpu: { realtimeRuntime: 1000 } })).rejects.toMatchObject({
      kind: "InvalidArgument",
    });
    expect(await exists("c5")).toBe(false);
  });

  test("stats read cpu.stat, memory.*, pids.* and hugetlb.*", async () => {
    const m = new V2CgroupManager("c6", root, ALL, { fs });
    await m.create();
    await writeFiles(join(root, "c6"), {
      "cpu.stat":
        "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 30\n",
      "memory.current": "8192\n",
      "memory.stat":
        "anon 4096\nfile 2048\nkernel 300\nfile_mapped 64\ninactive_file 1024\npgfault 10\npgmajfault 1\n",
      "memory.peak": "9000\n",
      "io.stat": "8:0 rbytes=4096 wbytes=512 rios=1 wios=2 dbytes=0 dios=0\n",
      "memory.events": "low 0\nhigh 0\nmax 6\noom 2\noom_kill 1\noom_group_kill 0\n",
      "memory.max": "max\n",
      "memory.swap.current": "0\n",
      "pids.current": "2\n",
      "pids.max": "10\n",
      "hugetlb.2MB.current": "0\n",
      "hugetlb.2MB.events": "max 3\n",
    });
    expect(await m.stats()).toEqual({
      cpu: {
        usageNanos: 2_000_000,
        userNanos: 1_500_000,
        systemNanos: 500_000,
        periods: 4,
        throttledPeriods: 1,
        throttledNanos: 30_000,
      },
      memory: {
        usageBytes: 8192,
        workingSetBytes: 7168,
        rssBytes: 4096,
        cacheBytes: 2048,
        swapBytes: 0,
        pageFaults: 10,
        majorPageFaults: 1,
        failcnt: 6,
        oomEvents: 2,
        oomKills: 1,
        mappedFileBytes: 64,
        maxUsageBytes: 9000,
        kernelBytes: 300,
      },
      blkio: [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 512, reads: 1, writes: 2 }],
      pids: { current: 2, limit: 10 },
      hugetlb: { "2MB": { usageBytes: 0, failcnt: 3 } },
    });
  });
});

describe("host manager on plain directories", () => {
  const hybrid = (): Hierarchies => ({
    controllers: new Map([
      ["memory", { controller: "memory", version: 1, mountpoint: join(root, "memory"), root: "/" }],
      [
        "hugetlb",
        { controller: "hugetlb", version: 2, mountpoint: join(root, "unified"), root: "/" },
      ],
    ]),
    unified: { mountpoint: join(root, "unified"), root: "/" },
  });

  beforeEach(async () => {
    await writeFiles(join(root, "memory"), {});
    await writeFiles(join(root, "unified"), { "cgroup.controllers": "hugetlb" });
    fs = new PlainDirFs({
      [join(root, "memory")]: { "memory.limit_in_bytes": "9223372036854771712" },
    });
  });

  test("a hybrid host routes memory to v1 and hugetlb to the cgroup2 tree", async () => {
    const m = cgroupManagerFor("skiff/c7", hybrid(), { fs });
    await m.create({ memory: { limit: 1 << 20 }, hugepageLimits: [{ pageSize: "2MB", limit: 0 }] });
    expect(await read("memory/skiff/c7/memory.limit_in_bytes")).toBe(String(1 << 20));
    expect(await read("unified/skiff/c7/hugetlb.2MB.max")).toBe("0");
    expect(await read("unified/cgroup.subtree_control")).toBe("hugetlb");
    expect(m.procsPaths()).toEqual([
      join(root, "memory/skiff/c7/cgroup.procs"),
      join(root, "unified/skiff/c7/cgroup.procs"),
    ]);
    expect(m.unifiedDir()).toBe(join(root, "unified/skiff/c7"));
    await m.destroy();
    expect(await exists("memory/skiff/c7")).toBe(false);
    expect(await exists("unified/skiff/c7")).toBe(false);
  });

  test("a failure in the v2 part removes the v1 part too", async () => {
    const m = cgroupManagerFor("skiff/c8", hybrid(), { fs });
    const err = await m
      .create({ memory: { limit: 1 << 20 }, hugepageLimits: [{ pageSize: "2M", limit: 0 }] })
      .catch((e: unknown) => e);
    expect((err as SkiffError).kind).toBe("InvalidArgument");
    expect(await exists("memory/skiff")).toBe(false);
    expect(await exists("unified/skiff")).toBe(false);
  });

  test("resources for controllers the host lacks are refused before anything is made", async () => {
    const m = cgroupManagerFor("skiff/c9", hybrid(), { fs });
    await expect(m.create({ pids: { limit: 5 } })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: "cgroup controller pids is not available on this host",
    });
    expect(await exists("memory/skiff")).toBe(false);
  });
});

describeCgroupManagerContract("v2 backend on a plain directory", () => ({
  make: (path) => new V2CgroupManager(path, root, ALL, { fs }),
  base: "t",
  limits: { memory: { limit: 1 << 20 }, pids: { limit: 10 }, cpu: { shares: 100 } },
  bad: { memory: { limit: 200, swap: 100 } },
}));
