/**
 * cgroup v1 "hugetlb": hugetlb.<size>.limit_in_bytes per huge page size ("2MB", "1GB");
 * usage from hugetlb.<size>.usage_in_bytes, max_usage_in_bytes and failcnt.
 */
import { invalidArgument } from "../../errors.js";
import { file, parseNumber, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

/** The kernel names page sizes like "64KB", "2MB", "1GB"; anything else is refused early. */
export function checkPageSize(pageSize: string): string {
  if (!/^[1-9][0-9]*[KMG]B$/.test(pageSize)) {
    throw invalidArgument(`hugepage size ${JSON.stringify(pageSize)} is not like "2MB" or "1GB"`);
  }
  return pageSize;
}

export const hugetlbV1: Controller = {
  name: "hugetlb",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    for (const h of r.hugepageLimits ?? []) {
      const name = `hugetlb.${checkPageSize(h.pageSize)}.limit_in_bytes`;
      await fs.write(file(dir, name), String(h.limit));
    }
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const sizes = (await fs.files(dir))
      .map((f) => /^hugetlb\.([0-9]+[KMG]B)\.usage_in_bytes$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
    if (sizes.length === 0) return;
    out.hugetlb = {};
    for (const size of sizes) {
      const p = (n: string): string => file(dir, `hugetlb.${size}.${n}`);
      const max = await readOptional(fs, p("max_usage_in_bytes"));
      out.hugetlb[size] = {
        usageBytes: parseNumber(await fs.read(p("usage_in_bytes")), p("usage_in_bytes")),
        failcnt: parseNumber(await fs.read(p("failcnt")), p("failcnt")),
        ...(max === undefined ? {} : { maxUsageBytes: Number(max.trim()) }),
      };
    }
  },
};
