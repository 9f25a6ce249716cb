/**
 * The cgroup v2 backend: one directory in the cgroup2 tree. Controllers are enabled top
 * down through each ancestor's cgroup.subtree_control (a controller is usable in a cgroup
 * only when its parent enables it), and processes live only in the leaf: the "no internal
 * processes" rule forbids enabling controllers in a cgroup that has tasks, so Skiff never
 * enables any in its leaves. Enabling in ancestors that existed before is not undone:
 * other cgroups may rely on it.
 */
import { join } from "node:path";
import { notFound } from "../../errors.js";
import {
  file,
  kernelCgroupFs,
  readOptional,
  readProcsTree,
  removeCgroupTree,
  removeMade,
  type CgroupFs,
} from "../cgroup-fs.js";
import { normalizeCgroupPath, type CgroupManager, type ManagerOptions } from "../cgroup-manager.js";
import type { Controller } from "../controller.js";
import { defaultFreezeTimeoutMs } from "../freeze-wait.js";
import type { LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";
import { cpuV2 } from "./cpu.js";
import { cpusetV2 } from "./cpuset.js";
import { freezeV2, thawV2 } from "./freezer.js";
import { hugetlbV2 } from "./hugetlb.js";
import { ioV2 } from "./io.js";
import { memoryV2 } from "./memory.js";
import { pidsV2 } from "./pids.js";
import { applyUnified } from "./unified.js";

/** The modules, in the order limits are applied. */
export const v2Controllers: readonly Controller[] = [
  cpusetV2,
  cpuV2,
  memoryV2,
  pidsV2,
  hugetlbV2,
  ioV2,
];

export class V2CgroupManager implements CgroupManager {
  readonly path: string;
  readonly dir: string;
  private readonly fs: CgroupFs;
  private readonly freezeTimeoutMs: number;
  private readonly destroyTimeoutMs: number;

  /**
   * `mountpoint`: the cgroup2 mount; `controllers`: the v2 controllers this manager drives
   * (on a hybrid host, only those not bound to v1; [] to use the core files only).
   */
  constructor(
    path: string,
    private readonly mountpoint: string,
    private readonly controllers: readonly string[],
    options: ManagerOptions = {},
  ) {
    this.path = normalizeCgroupPath(path);
    this.dir = join(mountpoint, this.path);
    this.fs = options.fs ?? kernelCgroupFs;
    this.freezeTimeoutMs = options.freezeTimeoutMs ?? defaultFreezeTimeoutMs;
    this.destroyTimeoutMs = options.destroyTimeoutMs ?? 5000;
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
   * Enable the controllers in each ancestor and make the directories; returns those it
   * made, top-down. On failure it removes them itself.
   */
  async make(): Promise<string[]> {
    const made: string[] = [];
    try {
      let parent = this.mountpoint;
      for (const part of this.path.split("/")) {
        await this.enableControllers(parent);
        const dir = join(parent, part);
        if (await this.fs.mkdir(dir)) made.push(dir);
        parent = dir;
      }
    } catch (err) {
      await removeMade(this.fs, made);
      throw err;
    }
    return made;
  }

  async addProcess(pid: number): Promise<void> {
    await this.fs.write(file(this.dir, "cgroup.procs"), String(pid));
  }

  async update(resources: LinuxResources): Promise<void> {
    if (!(await this.exists())) throw notFound(`cgroup ${this.path} does not exist`);
    await this.apply(resources);
  }

  async stats(): Promise<CgroupStats> {
    const out: CgroupStats = {};
    // cpu.stat's usage is core in v2: read it whether or not the controller is enabled.
    await cpuV2.stats?.(this.fs, this.dir, out);
    for (const c of this.modules()) {
      if (c !== cpuV2) await c.stats?.(this.fs, this.dir, out);
    }
    return out;
  }

  async freeze(): Promise<void> {
    await freezeV2(this.fs, this.dir, this.freezeTimeoutMs);
  }

  async thaw(): Promise<void> {
    await thawV2(this.fs, this.dir, this.freezeTimeoutMs);
  }

  async pids(): Promise<number[]> {
    return readProcsTree(this.fs, this.dir);
  }

  procsPaths(): string[] {
    return [file(this.dir, "cgroup.procs")];
  }

  unifiedDir(): string {
    return this.dir;
  }

  async exists(): Promise<boolean> {
    return this.fs.exists(this.dir);
  }

  async destroy(): Promise<void> {
    await removeCgroupTree(this.fs, this.dir, this.destroyTimeoutMs);
  }

  async apply(resources: LinuxResources): Promise<void> {
    for (const c of this.modules()) await c.apply?.(this.fs, this.dir, resources);
    await applyUnified(this.fs, this.dir, resources.unified, this.controllers);
  }

  /** Enable this manager's controllers for the children of `dir`, where offered. */
  private async enableControllers(dir: string): Promise<void> {
    if (this.controllers.length === 0) return;
    const words = (text: string | undefined) => (text ?? "").trim().split(/\s+/);
    const available = words(await readOptional(this.fs, file(dir, "cgroup.controllers")));
    const enabled = words(await readOptional(this.fs, file(dir, "cgroup.subtree_control")));
    for (const c of this.controllers) {
      if (available.includes(c) && !enabled.includes(c)) {
        await this.fs.write(file(dir, "cgroup.subtree_control"), `+${c}`);
      }
    }
  }

  private modules(): Controller[] {
    return v2Controllers.filter((c) => this.controllers.includes(c.name));
  }
}
