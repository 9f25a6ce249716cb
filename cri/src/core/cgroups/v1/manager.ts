/**
 * The cgroup v1 backend: one directory per mounted hierarchy (comounted controllers share
 * one), each driven by the controller modules of this folder. Hierarchies without a
 * module here (devices is one; net_cls, perf_event, named ones like name=systemd are
 * others) are still joined: the cgroup is made there and processes are placed in it, so
 * every hierarchy shows the container where it is.
 */
import { join } from "node:path";
import { failedPrecondition, notFound } from "../../errors.js";
import {
  file,
  kernelCgroupFs,
  readProcsTree,
  removeCgroupTree,
  removeMade,
  type CgroupFs,
} from "../cgroup-fs.js";
import { normalizeCgroupPath, type CgroupManager, type ManagerOptions } from "../cgroup-manager.js";
import type { Controller } from "../controller.js";
import { defaultFreezeTimeoutMs } from "../freeze-wait.js";
import type { ControllerMount } from "../hierarchy.js";
import type { LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";
import { blkioV1 } from "./blkio.js";
import { cpuV1 } from "./cpu.js";
import { cpuacctV1 } from "./cpuacct.js";
import { cpusetV1 } from "./cpuset.js";
import { devicesV1 } from "./devices.js";
import { freezeV1, freezerV1, thawV1 } from "./freezer.js";
import { hugetlbV1 } from "./hugetlb.js";
import { memoryV1 } from "./memory.js";
import { pidsV1 } from "./pids.js";

/** The modules, in the order limits are applied. */
export const v1Controllers: readonly Controller[] = [
  devicesV1,
  cpusetV1,
  cpuV1,
  cpuacctV1,
  memoryV1,
  pidsV1,
  hugetlbV1,
  blkioV1,
  freezerV1,
];

interface V1Hierarchy {
  mountpoint: string;
  controllers: string[];
  dir: string;
}

export class V1CgroupManager implements CgroupManager {
  readonly path: string;
  private readonly fs: CgroupFs;
  private readonly hierarchies: V1Hierarchy[];
  private readonly freezeTimeoutMs: number;
  private readonly destroyTimeoutMs: number;

  /** `mounts`: the v1 controllers of the host (hierarchy.ts), in any order. */
  constructor(path: string, mounts: readonly ControllerMount[], options: ManagerOptions = {}) {
    this.path = normalizeCgroupPath(path);
    this.fs = options.fs ?? kernelCgroupFs;
    this.freezeTimeoutMs = options.freezeTimeoutMs ?? defaultFreezeTimeoutMs;
    this.destroyTimeoutMs = options.destroyTimeoutMs ?? 5000;
    const byMount = new Map<string, V1Hierarchy>();
    for (const m of mounts) {
      if (m.version !== 1) continue;
      let h = byMount.get(m.mountpoint);
      if (h === undefined) {
        h = { mountpoint: m.mountpoint, controllers: [], dir: join(m.mountpoint, this.path) };
        byMount.set(m.mountpoint, h);
      }
      h.controllers.push(m.controller);
    }
    this.hierarchies = [...byMount.values()];
  }

  /** Controller names this backend has a hierarchy for. */
  controllers(): string[] {
    return this.hierarchies.flatMap((h) => h.controllers);
  }

  /** The directory of this cgroup in the hierarchy carrying `controller`. */
  dirOf(controller: string): string | undefined {
    return this.hierarchies.find((h) => h.controllers.includes(controller))?.dir;
  }

  async create(resources: LinuxResources = {}): Promise<void> {
    const made = await this.make();
    try {
      await this.apply(resources);
    } catch (err) {
      await removeMade(this.fs, made);
      throw err;
    }
  }

  /**
   * Make the directories (parents too) and prepare each for tasks; returns those it made,
   * top-down. On failure it removes them itself.
   */
  async make(): Promise<string[]> {
    const made: string[] = [];
    try {
      for (const h of this.hierarchies) {
        let parent = h.mountpoint;
        for (const part of this.path.split("/")) {
          const dir = join(parent, part);
          if (await this.fs.mkdir(dir)) made.push(dir);
          for (const c of this.modules(h)) await c.prepare?.(this.fs, dir, parent);
          parent = dir;
        }
      }
    } catch (err) {
      await removeMade(this.fs, made);
      throw err;
    }
    return made;
  }

  async addProcess(pid: number): Promise<void> {
    for (const h of this.hierarchies) {
      await this.fs.write(file(h.dir, "cgroup.procs"), String(pid));
    }
  }

  async update(resources: LinuxResources): Promise<void> {
    if (!(await this.exists())) throw notFound(`cgroup ${this.path} does not exist`);
    await this.apply(resources);
  }

  async stats(): Promise<CgroupStats> {
    const out: CgroupStats = {};
    for (const h of this.hierarchies) {
      for (const c of this.modules(h)) await c.stats?.(this.fs, h.dir, out);
    }
    return out;
  }

  async freeze(): Promise<void> {
    await freezeV1(this.fs, this.freezerDir(), this.freezeTimeoutMs);
  }

  async thaw(): Promise<void> {
    await thawV1(this.fs, this.freezerDir(), this.freezeTimeoutMs);
  }

  async pids(): Promise<number[]> {
    const h = this.hierarchies[0];
    return h === undefined ? [] : readProcsTree(this.fs, h.dir);
  }

  procsPaths(): string[] {
    return this.hierarchies.map((h) => file(h.dir, "cgroup.procs"));
  }

  unifiedDir(): string | undefined {
    return undefined;
  }

  async exists(): Promise<boolean> {
    for (const h of this.hierarchies) if (!(await this.fs.exists(h.dir))) return false;
    return this.hierarchies.length > 0;
  }

  async destroy(): Promise<void> {
    let first: unknown;
    const deadline = Date.now() + this.destroyTimeoutMs;
    for (const h of this.hierarchies) {
      try {
        await removeCgroupTree(this.fs, h.dir, Math.max(0, deadline - Date.now()));
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  /** Write resources to every hierarchy whose controller has a module. */
  async apply(resources: LinuxResources): Promise<void> {
    for (const c of v1Controllers) {
      const dir = this.dirOf(c.name);
      if (dir !== undefined) await c.apply?.(this.fs, dir, resources);
    }
  }

  private modules(h: V1Hierarchy): Controller[] {
    return v1Controllers.filter((c) => h.controllers.includes(c.name));
  }

  private freezerDir(): string {
    const dir = this.dirOf("freezer");
    if (dir === undefined) throw failedPrecondition("no cgroup v1 freezer hierarchy is mounted");
    return dir;
  }
}
