/**
 * The seam between Skiff and cgroups: one CgroupManager per cgroup (a container's or a
 * pod's), over every hierarchy the host has. Implementations: V1CgroupManager (one
 * directory per v1 hierarchy), V2CgroupManager (one directory in the cgroup2 tree), and
 * the combined manager of manager.ts that routes each controller to the version the host
 * binds it to (hybrid hosts have both).
 *
 * Lifecycle and invariants:
 *   create(resources) ──► addProcess(pid)* ──► update/stats/freeze/thaw* ──► destroy()
 *   - create makes the directories (parents too), fills what a new cgroup needs before
 *     tasks can join, and applies the limits; if anything fails, every directory it made
 *     is removed again and the error names the file and the value the kernel refused.
 *   - a cgroup that already exists is adopted by create (recovery after a restart).
 *   - destroy removes the cgroup and any child cgroups in every hierarchy; it is
 *     idempotent, retries briefly while exiting tasks are still leaving, and never kills:
 *     stopping the processes first is the caller's job. Parents are left in place (a pod
 *     cgroup outlives its containers).
 *   - cgroup paths are relative to each hierarchy's mount ("kubepods/pod1/ctr2"); a
 *     leading "/" (as kubelet's cgroupfs driver writes them) is accepted and ignored.
 */
import { invalidArgument } from "../errors.js";
import type { CgroupFs } from "./cgroup-fs.js";
import type { LinuxResources } from "./resources.js";
import type { CgroupStats } from "./stats.js";

export interface CgroupManager {
  /** The normalized relative path ("skiff/abc"). */
  readonly path: string;
  create(resources?: LinuxResources): Promise<void>;
  /** Move a process (all its threads) into the cgroup in every hierarchy. */
  addProcess(pid: number): Promise<void>;
  update(resources: LinuxResources): Promise<void>;
  stats(): Promise<CgroupStats>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Processes in the cgroup and its children. */
  pids(): Promise<number[]>;
  /**
   * The cgroup.procs file of each hierarchy: writing a pid to each places a process, so
   * the shim can do it between clone() and execve().
   */
  procsPaths(): string[];
  /** The cgroup2 directory (for clone3 CLONE_INTO_CGROUP), when the host has cgroup2. */
  unifiedDir(): string | undefined;
  exists(): Promise<boolean>;
  destroy(): Promise<void>;
}

export interface ManagerOptions {
  /** How files are read and written; the kernel by default. */
  fs?: CgroupFs;
  /** How long freeze/thaw wait for the kernel (default 10 s). */
  freezeTimeoutMs?: number;
  /** How long destroy retries rmdir while tasks are leaving (default 5 s). */
  destroyTimeoutMs?: number;
}

/** "/kubepods/pod1/c2/" → "kubepods/pod1/c2"; rejects empty, "." and ".." components. */
export function normalizeCgroupPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.length === 0) throw invalidArgument(`cgroup path ${JSON.stringify(path)} is empty`);
  for (const p of parts) {
    if (p === "." || p === ".." || p.includes("\0")) {
      throw invalidArgument(`cgroup path ${JSON.stringify(path)} has a "${p}" component`);
    }
  }
  return parts.join("/");
}
