import { describe, expect, test } from "@jest/globals";
import { SkiffError } from "../errors.js";
import { normalizeCgroupPath } from "./cgroup-manager.js";
import { hierarchiesFromMounts, parseMountinfo } from "./hierarchy.js";
import { checkResources } from "./manager.js";
import { requiredControllers } from "./resources.js";
import { deviceRule } from "./v1/devices.js";
import { checkPageSize } from "./v1/hugetlb.js";
import { pidsMax } from "./v1/pids.js";
import { cpuMax, sharesToWeight } from "./v2/cpu.js";
import { blkioWeightToIoWeight, ioMaxLines } from "./v2/io.js";
import { swapMax } from "./v2/memory.js";
import { checkUnifiedKey } from "./v2/unified.js";

const kindOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof SkiffError ? err.kind : "not a SkiffError";
  }
  return undefined;
};

describe("v1 → v2 conversions", () => {
  test("cpu shares → cpu.weight", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(1)).toBe(1);
    expect(sharesToWeight(1_000_000)).toBe(10000);
  });

  test("quota and period → cpu.max", () => {
    expect(cpuMax(50000, 100000)).toBe("50000 100000");
    expect(cpuMax(-1, 100000)).toBe("max 100000");
    expect(cpuMax(20000, undefined)).toBe("20000");
    expect(cpuMax(undefined, 250000)).toBe("max 250000");
    expect(cpuMax(undefined, undefined)).toBeUndefined();
    expect(cpuMax(0, 0)).toBeUndefined();
  });

  test("OCI memory+swap → memory.swap.max (swap only)", () => {
    expect(swapMax(100, 300)).toBe("200");
    expect(swapMax(100, 100)).toBe("0");
    expect(swapMax(100, -1)).toBe("max");
    expect(swapMax(undefined, -1)).toBe("max");
    expect(swapMax(100, undefined)).toBeUndefined();
    expect(swapMax(100, 0)).toBeUndefined();
    expect(kindOf(() => swapMax(200, 100))).toBe("InvalidArgument");
    expect(kindOf(() => swapMax(undefined, 100))).toBe("InvalidArgument");
    expect(kindOf(() => swapMax(-1, 100))).toBe("InvalidArgument");
  });

  test("blkio weight → io.weight, throttles → io.max lines", () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(
      ioMaxLines({
        blockIO: {
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteIOPSDevice: [
            { major: 8, minor: 0, rate: 100 },
            { major: 8, minor: 16, rate: 0 },
          ],
        },
      }),
    ).toEqual(["8:0 rbps=1048576 wiops=100", "8:16 wiops=max"]);
  });
});

describe("v1 file values", () => {
  test("pids limit", () => {
    expect(pidsMax(10)).toBe("10");
    expect(pidsMax(-1)).toBe("max");
  });

  test("device rules", () => {
    expect(deviceRule({ allow: false, access: "rwm" })).toBe("a *:* rwm");
    expect(deviceRule({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" })).toBe(
      "c 1:3 rwm",
    );
    expect(deviceRule({ allow: true, type: "c", major: 136, minor: -1, access: "rw" })).toBe(
      "c 136:* rw",
    );
    expect(kindOf(() => deviceRule({ allow: true, type: "x" }))).toBe("InvalidArgument");
    expect(kindOf(() => deviceRule({ allow: true, access: "rwx" }))).toBe("InvalidArgument");
  });

  test("hugepage sizes", () => {
    expect(checkPageSize("2MB")).toBe("2MB");
    expect(checkPageSize("1GB")).toBe("1GB");
    expect(kindOf(() => checkPageSize("2M"))).toBe("InvalidArgument");
    expect(kindOf(() => checkPageSize("../x"))).toBe("InvalidArgument");
  });
});

describe("paths and checks", () => {
  test("cgroup paths are normalized and may not escape", () => {
    expect(normalizeCgroupPath("/kubepods/burstable/pod1/c1/")).toBe("kubepods/burstable/pod1/c1");
    expect(normalizeCgroupPath("skiff//abc")).toBe("skiff/abc");
    expect(kindOf(() => normalizeCgroupPath("/"))).toBe("InvalidArgument");
    expect(kindOf(() => normalizeCgroupPath("skiff/../../etc"))).toBe("InvalidArgument");
    expect(kindOf(() => normalizeCgroupPath("./x"))).toBe("InvalidArgument");
  });

  test("unified keys are plain file names of enabled controllers", () => {
    expect(kindOf(() => checkUnifiedKey("memory.high", ["memory"]))).toBeUndefined();
    expect(kindOf(() => checkUnifiedKey("cgroup.max.depth", []))).toBeUndefined();
    expect(kindOf(() => checkUnifiedKey("memory.high", []))).toBe("FailedPrecondition");
    expect(kindOf(() => checkUnifiedKey("../memory.high", ["memory"]))).toBe("InvalidArgument");
    expect(kindOf(() => checkUnifiedKey("memory/high", ["memory"]))).toBe("InvalidArgument");
  });

  test("which controllers a resources object needs", () => {
    expect(requiredControllers({})).toEqual([]);
    expect(
      requiredControllers({
        cpu: { shares: 512, cpus: "0" },
        memory: { limit: 1 << 20 },
        pids: { limit: 10 },
        hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
        blockIO: { weight: 100 },
      }),
    ).toEqual(["cpu", "cpuset", "memory", "pids", "hugetlb", "blkio"]);
    // unset (0) values need nothing
    expect(requiredControllers({ cpu: { shares: 0, quota: 0 }, pids: { limit: 0 } })).toEqual([]);
  });

  test("resources for a controller the host lacks are refused up front", () => {
    const v1only = hierarchiesFromMounts(
      parseMountinfo("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"),
      "",
    );
    expect(kindOf(() => checkResources({ cpu: { shares: 100 } }, v1only))).toBeUndefined();
    expect(kindOf(() => checkResources({ memory: { limit: 100 } }, v1only))).toBe(
      "FailedPrecondition",
    );
    expect(kindOf(() => checkResources({ unified: { "cpu.weight": "10" } }, v1only))).toBe(
      "InvalidArgument",
    );
    const v2 = hierarchiesFromMounts(
      parseMountinfo("26 24 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
      "io memory",
    );
    expect(kindOf(() => checkResources({ blockIO: { weight: 100 } }, v2))).toBeUndefined();
  });
});
