/**
 * cgroup v2 "hugetlb": hugetlb.<size>.max per page size; usage from hugetlb.<size>.current
 * and the "max" count of hugetlb.<size>.events (allocations refused by the limit).
 */
import { file, parseKeyedLines, parseNumber, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";
import { checkPageSize } from "../v1/hugetlb.js";

export const hugetlbV2: Controller = {
  name: "hugetlb",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    for (const h of r.hugepageLimits ?? []) {
      const name = `hugetlb.${checkPageSize(h.pageSize)}.max`;
      await fs.write(file(dir, name), h.limit < 0 ? "max" : String(h.limit));
    }
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const sizes = (await fs.files(dir))
      .map((f) => /^hugetlb\.([0-9]+[KMG]B)\.current$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
    if (sizes.length === 0) return;
    out.hugetlb = {};
    for (const size of sizes) {
      const current = file(dir, `hugetlb.${size}.current`);
      const events = await readOptional(fs, file(dir, `hugetlb.${size}.events`));
      out.hugetlb[size] = {
        usageBytes: parseNumber(await fs.read(current), current),
        failcnt: events === undefined ? 0 : (parseKeyedLines(events).get("max") ?? 0),
      };
    }
  },
};
