/**
 * cgroup v1 "cpu" (CFS and RT scheduler groups): cpu.shares, cpu.cfs_period_us and
 * cpu.cfs_quota_us, cpu.cfs_burst_us, cpu.rt_period_us and cpu.rt_runtime_us, cpu.idle;
 * throttling counters from cpu.stat. Quota and period are checked against each other and
 * against the parent's bandwidth on every write, so when one order is refused the other
 * is tried (lowering the period before the quota may be what makes it fit).
 */
import { SkiffError } from "../../errors.js";
import { file, parseKeyedLines, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

export const cpuV1: Controller = {
  name: "cpu",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const c = r.cpu;
    if (c === undefined) return;
    if (isSet(c.shares)) await fs.write(file(dir, "cpu.shares"), String(c.shares));
    if (isSet(c.realtimePeriod)) {
      await fs.write(file(dir, "cpu.rt_period_us"), String(c.realtimePeriod));
    }
    if (isSet(c.realtimeRuntime)) {
      await fs.write(file(dir, "cpu.rt_runtime_us"), String(c.realtimeRuntime));
    }
    const writes: [string, string][] = [];
    if (isSet(c.period)) writes.push([file(dir, "cpu.cfs_period_us"), String(c.period)]);
    if (isSet(c.quota)) writes.push([file(dir, "cpu.cfs_quota_us"), String(c.quota)]);
    await writeEitherOrder(fs, writes);
    if (c.burst !== undefined) await fs.write(file(dir, "cpu.cfs_burst_us"), String(c.burst));
    if (c.idle !== undefined) await fs.write(file(dir, "cpu.idle"), String(c.idle));
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const text = await readOptional(fs, file(dir, "cpu.stat"));
    if (text === undefined) return;
    const s = parseKeyedLines(text);
    out.cpu ??= { usageNanos: 0 };
    out.cpu.periods = s.get("nr_periods") ?? 0;
    out.cpu.throttledPeriods = s.get("nr_throttled") ?? 0;
    out.cpu.throttledNanos = s.get("throttled_time") ?? 0;
  },
};

/** Write period then quota; if the kernel refuses the value, try quota then period. */
async function writeEitherOrder(fs: CgroupFs, writes: [string, string][]): Promise<void> {
  try {
    for (const [path, value] of writes) await fs.write(path, value);
  } catch (first) {
    if (writes.length < 2 || !(first instanceof SkiffError) || first.kind !== "InvalidArgument") {
      throw first;
    }
    try {
      for (const [path, value] of [...writes].reverse()) await fs.write(path, value);
    } catch {
      throw first;
    }
  }
}
