// The v1 backend on temporary directories standing in for the v1 hierarchies: which file
// gets which value, in which order, and what a failed create leaves (nothing).
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SkiffError } from "../../errors.js";
import type { ControllerMount } from "../hierarchy.js";
import { describeCgroupManagerContract } from "../testing/conformance.js";
import { PlainDirFs, writeFiles } from "../testing/plain-dir-fs.js";
import { V1CgroupManager } from "./manager.js";

const UNLIMITED = "9223372036854771712";
let root: string;
let fs: PlainDirFs;
let mounts: ControllerMount[];

const mount = (controller: string, dir = controller): ControllerMount => ({
  controller,
  version: 1,
  mountpoint: join(root, dir),
  root: "/",
});
const read = (path: string) => readFile(join(root, path), "utf8");
const exists = (path: string) =>
  stat(join(root, path)).then(
    () => true,
    () => false,
  );

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "skiff-cg-v1-"));
  mounts = ["cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "hugetlb", "freezer"].map((c) =>
    mount(c),
  );
  mounts.push(mount("name=systemd", "systemd"));
  await writeFiles(join(root, "cpuset"), { "cpuset.cpus": "0-3", "cpuset.mems": "0" });
  for (const m of mounts) await writeFiles(m.mountpoint, {});
  const templates: Record<string, Record<string, string>> = {};
  for (const m of mounts) templates[m.mountpoint] = { "cgroup.procs": "" };
  fs = new PlainDirFs({
    ...templates,
    [join(root, "cpuset")]: { "cgroup.procs": "", "cpuset.cpus": "", "cpuset.mems": "" },
    [join(root, "memory")]: {
      "cgroup.procs": "",
      "memory.limit_in_bytes": UNLIMITED,
      "memory.memsw.limit_in_bytes": UNLIMITED,
    },
    [join(root, "blkio")]: {
      "cgroup.procs": "",
      "blkio.bfq.weight": "100",
      "blkio.bfq.weight_device": "",
    },
  });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("V1CgroupManager on plain directories", () => {
  test("create makes the cgroup in every hierarchy and writes each controller's files", async () => {
    const m = new V1CgroupManager("/skiff/c1", mounts, { fs });
    await m.create({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "1", idle: 0 },
      memory: { limit: 64 << 20, swap: 64 << 20, reservation: 32 << 20, swappiness: 0 },
      pids: { limit: 20 },
      blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 << 21 }],
      devices: [{ allow: false, access: "rwm" }],
    });
    expect(m.path).toBe("skiff/c1");
    for (const d of ["cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "systemd"]) {
      expect(await exists(`${d}/skiff/c1`)).toBe(true);
    }
    expect(await read("cpu/skiff/c1/cpu.shares")).toBe("512");
    expect(await read("cpu/skiff/c1/cpu.cfs_period_us")).toBe("100000");
    expect(await read("cpu/skiff/c1/cpu.cfs_quota_us")).toBe("50000");
    expect(await read("cpu/skiff/c1/cpu.idle")).toBe("0");
    // the intermediate cpuset got the parent's values, the leaf its own cpus
    expect(await read("cpuset/skiff/cpuset.cpus")).toBe("0-3");
    expect(await read("cpuset/skiff/cpuset.mems")).toBe("0");
    expect(await read("cpuset/skiff/c1/cpuset.cpus")).toBe("1");
    expect(await read("cpuset/skiff/c1/cpuset.mems")).toBe("0");
    expect(await read("memory/skiff/c1/memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(await read("memory/skiff/c1/memory.memsw.limit_in_bytes")).toBe(String(64 << 20));
    expect(await read("memory/skiff/c1/memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(await read("memory/skiff/c1/memory.swappiness")).toBe("0");
    expect(await read("pids/skiff/c1/pids.max")).toBe("20");
    expect(await read("blkio/skiff/c1/blkio.bfq.weight")).toBe("300");
    expect(await read("blkio/skiff/c1/blkio.throttle.read_bps_device")).toBe("8:0 1000");
    expect(await read("hugetlb/skiff/c1/hugetlb.2MB.limit_in_bytes")).toBe(String(4 << 21));
    // no devices hierarchy among the mounts: the rule is not written anywhere
    expect(fs.writes.some(([p]) => p.endsWith("devices.deny"))).toBe(false);
    expect(m.procsPaths()).toContain(join(root, "systemd/skiff/c1/cgroup.procs"));
    expect(m.procsPaths()).toHaveLength(9);
  });

  test("limit and memsw are written in the order that keeps limit <= memsw", async () => {
    const m = new V1CgroupManager("c2", mounts, { fs });
    await m.create({ memory: { limit: 100, swap: 200 } });
    const order = () =>
      fs.writes
        .map(([p]) => p.split("/").pop())
        .filter((n) => n === "memory.limit_in_bytes" || n === "memory.memsw.limit_in_bytes");
    // from unlimited: limit first
    expect(order()).toEqual(["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
    fs.writes.length = 0;
    // raising past the current memsw (200): memsw first
    await m.update({ memory: { limit: 300, swap: 400 } });
    expect(order()).toEqual(["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
    fs.writes.length = 0;
    // to unlimited: memsw first
    await m.update({ memory: { limit: -1, swap: -1 } });
    expect(order()).toEqual(["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
  });

  test("a create that fails midway removes what it made and keeps what existed", async () => {
    for (const m of mounts) await writeFiles(join(m.mountpoint, "kubepods"), {});
    await writeFiles(join(root, "cpuset/kubepods"), { "cpuset.cpus": "0-3", "cpuset.mems": "0" });
    const m = new V1CgroupManager("kubepods/pod1/c3", mounts, { fs });
    const err = await m.create({ memory: { limit: 200, swap: 100 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).kind).toBe("InvalidArgument");
    for (const mt of mounts) {
      expect(await exists(join(mt.mountpoint.slice(root.length), "kubepods"))).toBe(true);
      expect(await exists(join(mt.mountpoint.slice(root.length), "kubepods/pod1"))).toBe(false);
    }
  });

  test("update of a cgroup that does not exist is NotFound", async () => {
    const m = new V1CgroupManager("nope", mounts, { fs });
    await expect(m.update({ pids: { limit: 1 } })).rejects.toMatchObject({ kind: "NotFound" });
  });

  test("stats read usage, working set, RSS, faults and OOM counters", async () => {
    const m = new V1CgroupManager("c4", mounts, { fs });
    await m.create();
    await writeFiles(join(root, "cpuacct/c4"), {
      "cpuacct.usage": "123456789",
      "cpuacct.usage_user": "100000000",
      "cpuacct.usage_sys": "23456789",
    });
    await writeFiles(join(root, "cpu/c4"), {
      "cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n",
    });
    await writeFiles(join(root, "memory/c4"), {
      "memory.usage_in_bytes": "10000\n",
      "memory.stat":
        "cache 1\nrss 2\ntotal_cache 3000\ntotal_rss 6000\ntotal_inactive_file 2500\ntotal_pgfault 77\ntotal_pgmajfault 5\n",
      "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
      "memory.failcnt": "9\n",
      "memory.memsw.usage_in_bytes": "10000\n",
      "memory.max_usage_in_bytes": "12000\n",
      "memory.kmem.usage_in_bytes": "400\n",
    });
    await writeFiles(join(root, "blkio/c4"), {
      "blkio.throttle.io_service_bytes_recursive":
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n",
      "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
    });
    await writeFiles(join(root, "pids/c4"), { "pids.current": "3\n", "pids.max": "max\n" });
    await writeFiles(join(root, "hugetlb/c4"), {
      "hugetlb.2MB.usage_in_bytes": "0\n",
      "hugetlb.2MB.max_usage_in_bytes": "2097152\n",
      "hugetlb.2MB.failcnt": "1\n",
    });
    expect(await m.stats()).toEqual({
      cpu: {
        usageNanos: 123456789,
        userNanos: 100000000,
        systemNanos: 23456789,
        periods: 10,
        throttledPeriods: 3,
        throttledNanos: 5000,
      },
      memory: {
        usageBytes: 10000,
        workingSetBytes: 7500,
        rssBytes: 6000,
        cacheBytes: 3000,
        swapBytes: 0,
        pageFaults: 77,
        majorPageFaults: 5,
        failcnt: 9,
        oomKills: 2,
        underOom: false,
        mappedFileBytes: 0,
        maxUsageBytes: 12000,
        kernelBytes: 400,
      },
      blkio: [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }],
      pids: { current: 3 },
      hugetlb: { "2MB": { usageBytes: 0, maxUsageBytes: 2097152, failcnt: 1 } },
    });
  });

  test("destroy removes child cgroups too, and a second destroy is a no-op", async () => {
    const m = new V1CgroupManager("c5", mounts, { fs });
    await m.create();
    await writeFiles(join(root, "memory/c5/inner"), {});
    await m.destroy();
    for (const mt of mounts)
      expect(await exists(join(mt.mountpoint.slice(root.length), "c5"))).toBe(false);
    await m.destroy();
    expect(await m.exists()).toBe(false);
  });

  test("freeze needs a freezer hierarchy", async () => {
    const m = new V1CgroupManager(
      "c6",
      mounts.filter((x) => x.controller !== "freezer"),
      { fs },
    );
    await expect(m.freeze()).rejects.toMatchObject({ kind: "FailedPrecondition" });
  });
});

describeCgroupManagerContract("v1 backend on plain directories", () => ({
  make: (path) => new V1CgroupManager(path, mounts, { fs }),
  base: "t",
  limits: { memory: { limit: 1 << 20 }, pids: { limit: 10 }, cpu: { shares: 100 } },
  bad: { memory: { limit: 200, swap: 100 } },
}));
