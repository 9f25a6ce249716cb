/**
 * cgroup v2 "cpu": cpu.weight (1..10000, derived from OCI shares), cpu.max ("$QUOTA
 * $PERIOD", quota "max" for none), cpu.max.burst, cpu.idle. cpu.stat is core in v2 (usage
 * is reported even where the controller is not enabled); throttling counters appear with
 * the controller. Real-time groups have no v2 interface, so realtime values are refused.
 */
import { invalidArgument } from "../../errors.js";
import { file, parseKeyedLines, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

/** v1 shares (2..262144) → v2 weight (1..10000): 1 + ((shares - 2) * 9999) / 262142. */
export function sharesToWeight(shares: number): number {
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** The cpu.max line for OCI quota/period; undefined when neither is set. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!isSet(quota) && !isSet(period)) return undefined;
  const q = isSet(quota) && quota > 0 ? String(quota) : "max";
  return isSet(period) ? `${q} ${period}` : q;
}

export const cpuV2: Controller = {
  name: "cpu",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const c = r.cpu;
    if (c === undefined) return;
    if (isSet(c.realtimeRuntime) || isSet(c.realtimePeriod)) {
      throw invalidArgument("cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2");
    }
    if (isSet(c.shares)) await fs.write(file(dir, "cpu.weight"), String(sharesToWeight(c.shares)));
    const max = cpuMax(c.quota, c.period);
    if (max !== undefined) await fs.write(file(dir, "cpu.max"), max);
    if (c.burst !== undefined) await fs.write(file(dir, "cpu.max.burst"), String(c.burst));
    if (c.idle !== undefined) await fs.write(file(dir, "cpu.idle"), String(c.idle));
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const text = await readOptional(fs, file(dir, "cpu.stat"));
    if (text === undefined) return;
    const s = parseKeyedLines(text);
    out.cpu = {
      usageNanos: (s.get("usage_usec") ?? 0) * 1000,
      userNanos: (s.get("user_usec") ?? 0) * 1000,
      systemNanos: (s.get("system_usec") ?? 0) * 1000,
    };
    const periods = s.get("nr_periods");
    if (periods !== undefined) {
      out.cpu.periods = periods;
      out.cpu.throttledPeriods = s.get("nr_throttled") ?? 0;
      out.cpu.throttledNanos = (s.get("throttled_usec") ?? 0) * 1000;
    }
  },
};
