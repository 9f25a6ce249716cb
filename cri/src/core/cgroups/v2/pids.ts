/**
 * cgroup v2 "pids": pids.max (a number or "max"); pids.current. Once the limit is
 * reached, fork()/clone() in the cgroup fail with EAGAIN.
 */
import { file, parseLimit, parseNumber, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

export const pidsV2: Controller = {
  name: "pids",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const limit = r.pids?.limit;
    if (isSet(limit)) await fs.write(file(dir, "pids.max"), limit > 0 ? String(limit) : "max");
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const path = file(dir, "pids.current");
    const current = parseNumber(await fs.read(path), path);
    const limit = parseLimit(await fs.read(file(dir, "pids.max")));
    out.pids = limit === undefined ? { current } : { current, limit };
  },
};
