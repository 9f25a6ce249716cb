/**
 * cgroup v1 "memory": memory.limit_in_bytes, memory.memsw.limit_in_bytes (OCI swap is
 * memory+swap, as here), memory.soft_limit_in_bytes (reservation), memory.swappiness,
 * memory.oom_control (disable the OOM killer). Invariant the kernel enforces on every
 * write: limit <= memsw limit, so the two are written in whichever order keeps it true.
 * memsw files exist only with swap accounting; without them a swap value is ignored.
 * kernel/kernelTCP/useHierarchy are deprecated and not applied.
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
import { isSet, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

const LIMIT = "memory.limit_in_bytes";
const MEMSW = "memory.memsw.limit_in_bytes";

export const memoryV1: Controller = {
  name: "memory",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const m = r.memory;
    if (m === undefined) return;
    const limit = isSet(m.limit) ? m.limit : undefined;
    let swap = isSet(m.swap) ? m.swap : undefined;
    if (swap !== undefined && !(await fs.exists(file(dir, MEMSW)))) swap = undefined;
    if (limit !== undefined && swap !== undefined) {
      if (swap !== -1 && (limit === -1 || swap < limit)) {
        throw invalidArgument(
          `memory.swap (memory+swap, ${swap}) must be -1 or at least memory.limit (${limit})`,
        );
      }
      const memsw = parseLimit(await fs.read(file(dir, MEMSW)));
      const limitFirst = limit !== -1 && (memsw === undefined || limit <= memsw);
      if (limitFirst) {
        await fs.write(file(dir, LIMIT), String(limit));
        await fs.write(file(dir, MEMSW), String(swap));
      } else {
        await fs.write(file(dir, MEMSW), String(swap));
        await fs.write(file(dir, LIMIT), String(limit));
      }
    } else if (limit !== undefined) {
      await fs.write(file(dir, LIMIT), String(limit));
    } else if (swap !== undefined) {
      await fs.write(file(dir, MEMSW), String(swap));
    }
    if (isSet(m.reservation)) {
      await fs.write(file(dir, "memory.soft_limit_in_bytes"), String(m.reservation));
    }
    if (m.swappiness !== undefined) {
      if (m.swappiness < 0 || m.swappiness > 100) {
        throw invalidArgument(`memory.swappiness ${m.swappiness} is outside 0..100`);
      }
      await fs.write(file(dir, "memory.swappiness"), String(m.swappiness));
    }
    if (m.disableOOMKiller !== undefined) {
      await fs.write(file(dir, "memory.oom_control"), m.disableOOMKiller ? "1" : "0");
    }
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const num = async (name: string): Promise<number> =>
      parseNumber(await fs.read(file(dir, name)), file(dir, name));
    const usage = await num("memory.usage_in_bytes");
    const stat = parseKeyedLines(await fs.read(file(dir, "memory.stat")));
    const oom = parseKeyedLines(await fs.read(file(dir, "memory.oom_control")));
    const limit = parseLimit(await fs.read(file(dir, LIMIT)));
    const memswUsage = await readOptional(fs, file(dir, "memory.memsw.usage_in_bytes"));
    const memswFailcnt = await readOptional(fs, file(dir, "memory.memsw.failcnt"));
    const inactiveFile = stat.get("total_inactive_file") ?? 0;
    out.memory = {
      usageBytes: usage,
      workingSetBytes: Math.max(0, usage - inactiveFile),
      rssBytes: stat.get("total_rss") ?? 0,
      cacheBytes: stat.get("total_cache") ?? 0,
      pageFaults: stat.get("total_pgfault") ?? 0,
      majorPageFaults: stat.get("total_pgmajfault") ?? 0,
      // With swap accounting, memsw is charged first and counts the hits when both are set.
      failcnt: (await num("memory.failcnt")) + Number((memswFailcnt ?? "0").trim()),
      oomKills: oom.get("oom_kill") ?? 0,
      underOom: (oom.get("under_oom") ?? 0) !== 0,
    };
    if (limit !== undefined) out.memory.limitBytes = limit;
    out.memory.mappedFileBytes = stat.get("total_mapped_file") ?? 0;
    const maxUsage = await readOptional(fs, file(dir, "memory.max_usage_in_bytes"));
    if (maxUsage !== undefined) out.memory.maxUsageBytes = Number(maxUsage.trim());
    const kmem = await readOptional(fs, file(dir, "memory.kmem.usage_in_bytes"));
    if (kmem !== undefined) out.memory.kernelBytes = Number(kmem.trim());
    if (memswUsage !== undefined) {
      out.memory.swapBytes = Math.max(0, Number(memswUsage.trim()) - usage);
    }
  },
};
