/**
 * cgroup v1 "cpuset": cpuset.cpus and cpuset.mems. A new v1 cpuset starts with both empty
 * and refuses tasks (ENOSPC) until they are filled, so every directory the manager makes
 * gets its parent's values first (what cgroup.clone_children would do), then the limits.
 */
import { file, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { LinuxResources } from "../resources.js";

export const cpusetV1: Controller = {
  name: "cpuset",

  async prepare(fs: CgroupFs, dir: string, parentDir: string) {
    for (const name of ["cpuset.cpus", "cpuset.mems"]) {
      const own = (await fs.read(file(dir, name))).trim();
      if (own !== "") continue;
      const parent = (await fs.read(file(parentDir, name))).trim();
      if (parent !== "") await fs.write(file(dir, name), parent);
    }
  },

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const c = r.cpu;
    if (c === undefined) return;
    if (c.cpus !== undefined && c.cpus !== "") await fs.write(file(dir, "cpuset.cpus"), c.cpus);
    if (c.mems !== undefined && c.mems !== "") await fs.write(file(dir, "cpuset.mems"), c.mems);
  },
};
