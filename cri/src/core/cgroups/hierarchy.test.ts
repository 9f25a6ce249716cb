import { describe, expect, test } from "@jest/globals";
import {
  cgroupDirOf,
  hierarchiesFromMounts,
  isPureV2,
  parseMountinfo,
  parseProcCgroup,
  type Hierarchies,
} from "./hierarchy.js";

// This machine: v1 with cpu and cpuacct apart, cgroup2 at /sys/fs/cgroup/unified (hugetlb).
const hybrid = `22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// A classic pure v1 host (no cgroup2 at all), comounted controllers, optional fields.
const pureV1 = `18 24 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,net_cls,net_prio
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,hugetlb
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuset,clone_children
33 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids
`;

const pureV2 = `24 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe("parseMountinfo", () => {
  test("reads fields around optional fields and the separator", () => {
    const entries = parseMountinfo(pureV1);
    const cpu = entries.find((e) => e.mountpoint === "/sys/fs/cgroup/cpu,cpuacct");
    expect(cpu).toEqual({
      mountId: 28,
      parentId: 25,
      root: "/",
      mountpoint: "/sys/fs/cgroup/cpu,cpuacct",
      fsType: "cgroup",
      source: "cgroup",
      superOptions: ["rw", "cpu", "cpuacct"],
    });
  });

  test("decodes octal escapes in paths and skips malformed lines", () => {
    const entries = parseMountinfo(
      "garbage\n50 1 0:40 /a\\040b /mnt/my\\040cgroup rw - cgroup2 none rw\n",
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.mountpoint).toBe("/mnt/my cgroup");
    expect(entries[0]?.root).toBe("/a b");
  });
});

describe("hierarchiesFromMounts", () => {
  test("hybrid host: v1 per controller, hugetlb on the cgroup2 mount", () => {
    const h = hierarchiesFromMounts(parseMountinfo(hybrid), "hugetlb");
    expect(h.unified).toEqual({ mountpoint: "/sys/fs/cgroup/unified", root: "/" });
    const summary = Object.fromEntries(
      [...h.controllers].map(([c, m]) => [c, `v${m.version} ${m.mountpoint}`]),
    );
    expect(summary).toEqual({
      cpu: "v1 /sys/fs/cgroup/cpu",
      cpuacct: "v1 /sys/fs/cgroup/cpuacct",
      cpuset: "v1 /sys/fs/cgroup/cpuset",
      memory: "v1 /sys/fs/cgroup/memory",
      devices: "v1 /sys/fs/cgroup/devices",
      freezer: "v1 /sys/fs/cgroup/freezer",
      blkio: "v1 /sys/fs/cgroup/blkio",
      pids: "v1 /sys/fs/cgroup/pids",
      "name=systemd": "v1 /sys/fs/cgroup/systemd",
      hugetlb: "v2 /sys/fs/cgroup/unified",
    });
    expect(isPureV2(h)).toBe(false);
  });

  test("pure v1 host: comounted controllers share a mountpoint, no unified", () => {
    const h = hierarchiesFromMounts(parseMountinfo(pureV1), "");
    expect(h.unified).toBeUndefined();
    expect(h.controllers.get("cpu")?.mountpoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(h.controllers.get("cpuacct")?.mountpoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(h.controllers.get("net_prio")?.version).toBe(1);
    expect(h.controllers.has("name=systemd")).toBe(true);
    // mount options that are not controllers are not taken for controllers
    expect(h.controllers.has("clone_children")).toBe(false);
    expect(h.controllers.has("xattr")).toBe(false);
    expect([...h.controllers.keys()].some((k) => k.startsWith("release_agent"))).toBe(false);
  });

  test("pure v2 host: every offered controller is v2 at /sys/fs/cgroup", () => {
    const h = hierarchiesFromMounts(
      parseMountinfo(pureV2),
      "cpuset cpu io memory hugetlb pids rdma misc",
    );
    expect(h.unified?.mountpoint).toBe("/sys/fs/cgroup");
    expect([...h.controllers.keys()]).toEqual([
      "cpuset",
      "cpu",
      "io",
      "memory",
      "hugetlb",
      "pids",
      "rdma",
      "misc",
    ]);
    expect([...h.controllers.values()].every((m) => m.version === 2)).toBe(true);
    expect(isPureV2(h)).toBe(true);
  });

  test("a controller bound to v1 stays v1 even if listed for v2", () => {
    const h = hierarchiesFromMounts(parseMountinfo(hybrid), "memory hugetlb");
    expect(h.controllers.get("memory")?.version).toBe(1);
  });

  test("a whole-hierarchy mount beats an earlier bind mount of a sub-tree", () => {
    const text = `60 1 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
61 1 0:32 / /host/memory rw - cgroup cgroup rw,memory
`;
    const h = hierarchiesFromMounts(parseMountinfo(text), "");
    expect(h.controllers.get("memory")).toEqual({
      controller: "memory",
      version: 1,
      mountpoint: "/host/memory",
      root: "/",
    });
  });
});

describe("/proc/<pid>/cgroup", () => {
  const procText = `9:name=systemd:/
4:memory:/process_api/abc
2:cpu,cpuacct:/kubepods/pod1
0::/skiff/x
`;

  test("parses controller lists and the v2 line", () => {
    const m = parseProcCgroup(procText);
    expect(m.get("memory")).toBe("/process_api/abc");
    expect(m.get("cpu")).toBe("/kubepods/pod1");
    expect(m.get("cpuacct")).toBe("/kubepods/pod1");
    expect(m.get("name=systemd")).toBe("/");
    expect(m.get("")).toBe("/skiff/x");
  });

  test("maps a process's cgroup to its directory, relative to the mount root", () => {
    const h: Hierarchies = hierarchiesFromMounts(parseMountinfo(hybrid), "hugetlb");
    const m = parseProcCgroup(procText);
    expect(cgroupDirOf(m, h, "memory")).toBe("/sys/fs/cgroup/memory/process_api/abc");
    expect(cgroupDirOf(m, h, "")).toBe("/sys/fs/cgroup/unified/skiff/x");
    expect(cgroupDirOf(m, h, "hugetlb")).toBe("/sys/fs/cgroup/unified/skiff/x");
    const sub = hierarchiesFromMounts(
      parseMountinfo("60 1 0:32 /kubepods /c rw - cgroup cgroup rw,cpu,cpuacct\n"),
      "",
    );
    expect(cgroupDirOf(m, sub, "cpu")).toBe("/c/pod1");
    expect(cgroupDirOf(new Map([["cpu", "/other"]]), sub, "cpu")).toBeUndefined();
  });
});
