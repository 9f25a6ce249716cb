/**
 * cgroup v2 "memory": memory.max (limit), memory.low (reservation), memory.swap.max. OCI
 * swap is memory+swap (v1's meaning); v2's memory.swap.max counts swap alone, so it gets
 * swap - limit. v2 has no per-cgroup swappiness or OOM-killer switch: those OCI fields
 * are not applied. Stats come from memory.current, memory.stat and memory.events.
 */
import { invalidArgument } from "../../errors.js";
import {
  file,
  parseKeyedLines,
  parseLimit,
  parseNumber,
  readOptional,
  type CgroupFs,
} from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxMemory, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

const bytesOrMax = (n: number): string => (n < 0 ? "max" : String(n));

/**
 * memory.swap.max for OCI limit and swap (memory+swap): undefined leaves it alone.
 * swap -1 → "max"; swap = limit → 0 (no swap); swap < limit, or a swap bound with no
 * finite limit to subtract, is refused.
 */
export function swapMax(limit: number | undefined, swap: number | undefined): string | undefined {
  if (!isSet(swap)) return undefined;
  if (swap < 0) return "max";
  if (!isSet(limit) || limit < 0) {
    throw invalidArgument(
      `memory.swap ${swap} needs a memory.limit on cgroup v2 (it is memory+swap; v2 limits swap alone)`,
    );
  }
  if (swap < limit) {
    throw invalidArgument(
      `memory.swap (memory+swap, ${swap}) is less than memory.limit (${limit})`,
    );
  }
  return String(swap - limit);
}

export async function applyMemoryV2(fs: CgroupFs, dir: string, m: LinuxMemory): Promise<void> {
  const swap = swapMax(m.limit, m.swap);
  // Unlike v1, memory.max and memory.swap.max are independent: any order is valid.
  if (isSet(m.limit)) await fs.write(file(dir, "memory.max"), bytesOrMax(m.limit));
  if (swap !== undefined) await fs.write(file(dir, "memory.swap.max"), swap);
  if (isSet(m.reservation)) {
    await fs.write(file(dir, "memory.low"), bytesOrMax(m.reservation));
  }
}

export const memoryV2: Controller = {
  name: "memory",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    if (r.memory !== undefined) await applyMemoryV2(fs, dir, r.memory);
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const currentPath = file(dir, "memory.current");
    const usage = parseNumber(await fs.read(currentPath), currentPath);
    const stat = parseKeyedLines(await fs.read(file(dir, "memory.stat")));
    const events = parseKeyedLines(await fs.read(file(dir, "memory.events")));
    const limit = parseLimit(await fs.read(file(dir, "memory.max")));
    const swap = await readOptional(fs, file(dir, "memory.swap.current"));
    out.memory = {
      usageBytes: usage,
      workingSetBytes: Math.max(0, usage - (stat.get("inactive_file") ?? 0)),
      rssBytes: stat.get("anon") ?? 0,
      cacheBytes: stat.get("file") ?? 0,
      pageFaults: stat.get("pgfault") ?? 0,
      majorPageFaults: stat.get("pgmajfault") ?? 0,
      failcnt: events.get("max") ?? 0,
      oomEvents: events.get("oom") ?? 0,
      oomKills: events.get("oom_kill") ?? 0,
    };
    if (limit !== undefined) out.memory.limitBytes = limit;
    if (swap !== undefined) out.memory.swapBytes = Number(swap.trim());
    out.memory.mappedFileBytes = stat.get("file_mapped") ?? 0;
    const peak = await readOptional(fs, file(dir, "memory.peak"));
    if (peak !== undefined) out.memory.maxUsageBytes = Number(peak.trim());
    const kernel = stat.get("kernel") ?? (stat.get("kernel_stack") ?? 0) + (stat.get("slab") ?? 0);
    out.memory.kernelBytes = kernel;
  },
};
