/**
 * Skiff's CgroupManager for a whole host: each controller goes to the version the host
 * binds it to (hierarchy.ts). Pure v1 → the v1 backend; pure v2 → the v2 backend; hybrid
 * → both, with the process placed in every v1 hierarchy and in the cgroup2 tree (which
 * carries whatever controllers v1 does not, e.g. hugetlb). Freezing uses the v1 freezer
 * when it is mounted, else cgroup.freeze.
 */
import { failedPrecondition, invalidArgument } from "../errors.js";
import { kernelCgroupFs, removeMade, type CgroupFs } from "./cgroup-fs.js";
import { type CgroupManager, type ManagerOptions } from "./cgroup-manager.js";
import { discoverHierarchies, type Hierarchies } from "./hierarchy.js";
import { requiredControllers, type LinuxResources } from "./resources.js";
import type { CgroupStats } from "./stats.js";
import { V1CgroupManager } from "./v1/manager.js";
import { V2CgroupManager } from "./v2/manager.js";

export type { CgroupManager, ManagerOptions } from "./cgroup-manager.js";

export interface OpenOptions extends ManagerOptions {
  /** The host's hierarchies; discovered from /proc/self/mountinfo when omitted. */
  hierarchies?: Hierarchies;
}

/** A manager for the cgroup at `path` (relative to every hierarchy's mount). */
export async function openCgroupManager(
  path: string,
  options: OpenOptions = {},
): Promise<CgroupManager> {
  const hierarchies = options.hierarchies ?? (await discoverHierarchies());
  return cgroupManagerFor(path, hierarchies, options);
}

export function cgroupManagerFor(
  path: string,
  hierarchies: Hierarchies,
  options: ManagerOptions = {},
): CgroupManager {
  return new HostCgroupManager(path, hierarchies, options);
}

/**
 * Refuse resources the host cannot enforce before anything is made: a limit for a
 * controller that no hierarchy carries, or `unified` without cgroup v2.
 */
export function checkResources(r: LinuxResources, h: Hierarchies): void {
  for (const c of requiredControllers(r)) {
    const v2name = c === "blkio" ? "io" : c;
    if (!h.controllers.has(c) && !h.controllers.has(v2name)) {
      throw failedPrecondition(`cgroup controller ${c} is not available on this host`);
    }
  }
  if (Object.keys(r.unified ?? {}).length > 0 && h.unified === undefined) {
    throw invalidArgument("linux.resources.unified needs cgroup v2, and this host has none");
  }
}

class HostCgroupManager implements CgroupManager {
  readonly path: string;
  private readonly fs: CgroupFs;
  private readonly v1?: V1CgroupManager;
  private readonly v2?: V2CgroupManager;

  constructor(
    path: string,
    private readonly hierarchies: Hierarchies,
    options: ManagerOptions,
  ) {
    this.fs = options.fs ?? kernelCgroupFs;
    const mounts = [...hierarchies.controllers.values()];
    const v1mounts = mounts.filter((m) => m.version === 1);
    if (v1mounts.length > 0) this.v1 = new V1CgroupManager(path, v1mounts, options);
    if (hierarchies.unified !== undefined) {
      const v2controllers = mounts.filter((m) => m.version === 2).map((m) => m.controller);
      this.v2 = new V2CgroupManager(path, hierarchies.unified.mountpoint, v2controllers, options);
    }
    const any = this.v1 ?? this.v2;
    if (any === undefined) throw failedPrecondition("no cgroup hierarchy is mounted");
    this.path = any.path;
  }

  private backends(): (V1CgroupManager | V2CgroupManager)[] {
    return [this.v1, this.v2].filter((b): b is V1CgroupManager | V2CgroupManager => !!b);
  }

  async create(resources: LinuxResources = {}): Promise<void> {
    checkResources(resources, this.hierarchies);
    const made: string[] = [];
    try {
      for (const b of this.backends()) made.push(...(await b.make()));
      for (const b of this.backends()) await b.apply(resources);
    } catch (err) {
      await removeMade(this.fs, made);
      throw err;
    }
  }

  async addProcess(pid: number): Promise<void> {
    for (const b of this.backends()) await b.addProcess(pid);
  }

  async update(resources: LinuxResources): Promise<void> {
    checkResources(resources, this.hierarchies);
    for (const b of this.backends()) await b.update(resources);
  }

  async stats(): Promise<CgroupStats> {
    // v2 first, so v1 sections (the controllers bound to v1) take precedence.
    const v2 = this.v2 === undefined ? {} : await this.v2.stats();
    const v1 = this.v1 === undefined ? {} : await this.v1.stats();
    return { ...v2, ...v1 };
  }

  async freeze(): Promise<void> {
    await this.freezer().freeze();
  }

  async thaw(): Promise<void> {
    await this.freezer().thaw();
  }

  async pids(): Promise<number[]> {
    return (this.v1 ?? this.v2)?.pids() ?? [];
  }

  procsPaths(): string[] {
    return this.backends().flatMap((b) => b.procsPaths());
  }

  unifiedDir(): string | undefined {
    return this.v2?.unifiedDir();
  }

  async exists(): Promise<boolean> {
    for (const b of this.backends()) if (!(await b.exists())) return false;
    return true;
  }

  async destroy(): Promise<void> {
    let first: unknown;
    for (const b of this.backends()) {
      try {
        await b.destroy();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  private freezer(): CgroupManager {
    if (this.v1?.dirOf("freezer") !== undefined) return this.v1;
    if (this.v2 !== undefined) return this.v2;
    throw failedPrecondition("this host has neither a v1 freezer nor cgroup v2");
  }
}
