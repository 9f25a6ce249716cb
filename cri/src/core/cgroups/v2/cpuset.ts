/**
 * cgroup v2 "cpuset": cpuset.cpus and cpuset.mems. Unlike v1, an empty value means "use
 * the parent's" (cpuset.cpus.effective), so a new cgroup needs no filling.
 */
import { file, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { LinuxResources } from "../resources.js";

export const cpusetV2: Controller = {
  name: "cpuset",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const c = r.cpu;
    if (c === undefined) return;
    if (c.cpus !== undefined && c.cpus !== "") await fs.write(file(dir, "cpuset.cpus"), c.cpus);
    if (c.mems !== undefined && c.mems !== "") await fs.write(file(dir, "cpuset.mems"), c.mems);
  },
};
