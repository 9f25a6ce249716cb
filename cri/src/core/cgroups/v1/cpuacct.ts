/**
 * cgroup v1 "cpuacct": CPU time accounting only (cpuacct.usage, cpuacct.usage_user,
 * cpuacct.usage_sys, all in nanoseconds). It has nothing to limit.
 */
import { file, parseNumber, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { CgroupStats } from "../stats.js";

export const cpuacctV1: Controller = {
  name: "cpuacct",

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const path = file(dir, "cpuacct.usage");
    const usage = parseNumber(await fs.read(path), path);
    out.cpu ??= { usageNanos: 0 };
    out.cpu.usageNanos = usage;
    const user = await readOptional(fs, file(dir, "cpuacct.usage_user"));
    const sys = await readOptional(fs, file(dir, "cpuacct.usage_sys"));
    if (user !== undefined) out.cpu.userNanos = Number(user.trim());
    if (sys !== undefined) out.cpu.systemNanos = Number(sys.trim());
  },
};
