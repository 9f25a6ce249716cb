/**
 * One cgroup controller of one version (v1/<name>.ts, v2/<name>.ts): how resources become
 * writes to its control files, and how its files become stats. A controller module is
 * stateless; the managers decide which directory it works in.
 */
import type { CgroupFs } from "./cgroup-fs.js";
import type { LinuxResources } from "./resources.js";
import type { CgroupStats } from "./stats.js";

export interface Controller {
  /** Kernel name of the controller (v1 subsystem or v2 controller). */
  readonly name: string;
  /**
   * Called for each cgroup directory the manager has just made, top-down, before any
   * process joins (v1 cpuset copies the parent's cpus and mems here).
   */
  prepare?(fs: CgroupFs, dir: string, parentDir: string): Promise<void>;
  /** Write the fields of `r` this controller owns; fields that are unset are left alone. */
  apply?(fs: CgroupFs, dir: string, r: LinuxResources): Promise<void>;
  /** Fill this controller's section of `out`. */
  stats?(fs: CgroupFs, dir: string, out: CgroupStats): Promise<void>;
}
