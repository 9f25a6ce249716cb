/**
 * The container core's lifecycle, over OCI specs: create, start, state, kill, delete,
 * wait, exec, list (the OCI runtime spec's operations, as runc offers them). skiff-oci
 * is a command line over this; skiff-cri's services call it directly.
 *
 * create is all-or-nothing: it validates the spec, makes the state directory, the cgroup
 * and the container (through skiff-shim), and undoes each step if a later one fails, so
 * a refused spec leaves no directory, cgroup, process or mount behind.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { StdioOptions } from "node:child_process";
import { SkiffError, SystemError, errnoCode, failedPrecondition, notFound } from "../errors.js";
import type { Logger } from "../log.js";
import { silentLogger } from "../log.js";
import { cgroupManagerFor } from "../cgroups/manager.js";
import type { CgroupManager } from "../cgroups/cgroup-manager.js";
import { discoverHierarchies, type Hierarchies } from "../cgroups/hierarchy.js";
import { validateResources, validateSpec } from "../oci/validate.js";
import type { Process, Spec, State, ContainerStatus } from "../oci/spec.js";
import type { LinuxResources } from "../cgroups/resources.js";
import type { CgroupStats } from "../cgroups/stats.js";
import { ociVersion } from "../oci/spec.js";
import {
  joinNamespacesOf,
  seccompCacheName,
  type NamespaceType,
  type ShimPlan,
} from "../shim/plan.js";
import {
  createContainer,
  execInContainer,
  readExitFile,
  startContainer,
  statePaths,
  waitForExit,
  type ExitStatus,
} from "../shim/shim-client.js";
import { planFromSpec } from "./plan-from-spec.js";
import { ExecSpares, withoutSpares } from "./exec-spares.js";
import { untilInitHandles } from "./init-signals.js";
import {
  checkContainerId,
  containerDir,
  deriveStatus,
  isAlive,
  processStartTime,
  readJson,
  recordFile,
  specFile,
  writeJsonAtomic,
  type ContainerRecord,
} from "./state.js";

export interface RuntimeOptions {
  /** Where container directories live (skiff-oci: /run/skiff-oci). */
  root: string;
  log?: Logger;
  /** Cgroup hierarchies; discovered from /proc/self/mountinfo when not given. */
  hierarchies?: Hierarchies;
  /** Keep a spare exec shim for each container exec'd into (exec-spares.ts; skiff-cri). */
  spareExecs?: boolean;
}

export interface CreateOptions {
  /** CRI log file for the monitor to write. */
  logPath?: string;
  /** Keep a stdin pipe for attach clients. */
  stdin?: boolean;
  /** With process.terminal: send the pty master to this unix socket (runc's --console-socket). */
  consoleSocket?: string;
}

export interface ExecOptions {
  stdio?: StdioOptions;
  /** A fifo the exec shim reads resize requests from (with a terminal). */
  ctlFifo?: string;
  /** With process.terminal: send the pty master to this unix socket. */
  consoleSocket?: string;
  /** The shim in a session of its own, so it outlives the caller (skiff-oci exec -d). */
  detached?: boolean;
}

export interface ContainerState extends State {
  created: string;
  exit?: ExitStatus;
}

export class ContainerRuntime {
  private hierarchies: Hierarchies | undefined;
  private readonly log: Logger;
  /**
   * container.json of each container this runtime has read or written: every write goes
   * through here, and one runtime owns its root (skiff-oci makes one per command), so a
   * cached record is the file's content. Saves a file read per state() (the daemon's
   * background sweep asks for every container's state).
   */
  private readonly records = new Map<string, ContainerRecord>();
  private readonly spares: ExecSpares | undefined;

  constructor(private readonly options: RuntimeOptions) {
    this.log = options.log ?? silentLogger;
    if (options.spareExecs) this.spares = new ExecSpares();
    this.hierarchies = options.hierarchies;
    mkdirSync(options.root, { recursive: true, mode: 0o711 });
  }

  private async cgroupHierarchies(): Promise<Hierarchies> {
    this.hierarchies ??= await discoverHierarchies();
    return this.hierarchies;
  }

  private dir(id: string): string {
    checkContainerId(id);
    return containerDir(this.options.root, id);
  }

  private record(id: string): ContainerRecord {
    const known = this.records.get(id);
    if (known) return known;
    const record = readJson<ContainerRecord>(join(this.dir(id), recordFile), `container ${id}`);
    this.records.set(id, record);
    return record;
  }

  private writeRecord(record: ContainerRecord): void {
    writeJsonAtomic(join(this.dir(record.id), recordFile), record);
    this.records.set(record.id, record);
  }

  async create(
    id: string,
    bundle: string,
    rawSpec: unknown,
    options: CreateOptions = {},
  ): Promise<ContainerState> {
    const dir = this.dir(id);
    const bundleDir = resolve(bundle);
    const spec = await validateSpec(rawSpec, bundleDir);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) === "EEXIST")
        throw new SkiffError("AlreadyExists", `container ${id} already exists`);
      throw new SystemError("create container directory", dir, err);
    }
    const undo: (() => Promise<void> | void)[] = [
      () => rmSync(dir, { recursive: true, force: true }),
    ];
    try {
      const hierarchies = await this.cgroupHierarchies();
      const cgroupPath = spec.linux?.cgroupsPath ?? `skiff/${id}`;
      const cgroup = cgroupManagerFor(cgroupPath, hierarchies);
      const existed = await cgroup.exists();
      await cgroup.create(spec.linux?.resources ?? {});
      if (!existed) undo.push(() => cgroup.destroy());
      writeJsonAtomic(join(dir, specFile), spec);
      const { consoleSocket, ...planOptions } = options;
      const plan = planFromSpec(spec, {
        bundle: bundleDir,
        stateDir: dir,
        cgroup,
        hierarchies,
        ...planOptions,
      });
      if (consoleSocket !== undefined)
        plan.consoleSocket = consoleSocketPath(consoleSocket, plan.terminal);
      this.useSeccompCache(plan);
      const { pid, monitorPid } = await createContainer(
        plan as ShimPlan & { stateDir: string; rootfs: string },
      );
      undo.push(async () => {
        process.kill(pid, "SIGKILL");
        await waitForExit(dir, 5000).catch(() => undefined);
      });
      const record: ContainerRecord = {
        id,
        bundle: bundleDir,
        pid,
        pidStartTime: processStartTime(pid) ?? "",
        monitorPid,
        createdAt: new Date().toISOString(),
        started: false,
        cgroupPath: cgroup.path,
        annotations: spec.annotations ?? {},
      };
      this.writeRecord(record);
      this.log.debug({ container_id: id, pid, monitorPid }, "container created");
      return this.stateOf(record, undefined);
    } catch (err) {
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (undoErr) {
          this.log.warn(
            { container_id: id, err: (undoErr as Error).message },
            "rollback step failed",
          );
        }
      }
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    const dir = this.dir(id);
    const record = this.record(id);
    const state = await this.state(id);
    if (state.status !== "created") {
      throw failedPrecondition(
        `container ${id} is ${state.status}, not created: it cannot be started`,
      );
    }
    startContainer(dir);
    await pastExec(record.pid);
    this.writeRecord({ ...record, started: true, startedAt: new Date().toISOString() });
  }

  async state(id: string): Promise<ContainerState> {
    const record = this.record(id);
    return this.stateOf(record, await readExitFile(this.dir(id)));
  }

  private stateOf(record: ContainerRecord, exit: ExitStatus | undefined): ContainerState {
    const status: ContainerStatus = deriveStatus(record, exit !== undefined);
    const state: ContainerState = {
      ociVersion,
      id: record.id,
      status,
      pid: status === "stopped" ? 0 : record.pid,
      bundle: record.bundle,
      annotations: record.annotations,
      created: record.createdAt,
    };
    if (exit) state.exit = exit;
    return state;
  }

  /** Sends a signal to the container process (or, with all, every process in its cgroup). */
  async kill(
    id: string,
    signal: NodeJS.Signals | number,
    options: { all?: boolean } = {},
  ): Promise<void> {
    const record = this.record(id);
    const state = await this.state(id);
    if (state.status === "stopped") throw failedPrecondition(`container ${id} is not running`);
    const pids = options.all ? await (await this.cgroupOf(record)).pids() : [record.pid];
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch (err) {
        if (errnoCode(err) !== "ESRCH") throw new SystemError("kill", String(pid), err);
      }
    }
  }

  /**
   * Resolves once `signal` sent to the container process would not be dropped (see
   * init-signals.ts), or after `ms`.
   */
  async untilSignalReaches(id: string, signal: NodeJS.Signals | number, ms: number): Promise<void> {
    await untilInitHandles(this.record(id).pid, signal, ms);
  }

  async wait(id: string, timeoutMs = 2 ** 31 - 1): Promise<ExitStatus> {
    this.record(id);
    return waitForExit(this.dir(id), timeoutMs);
  }

  /** Removes a stopped container (force: kills it first). Idempotent for a missing one only with force. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    const dir = this.dir(id);
    this.records.delete(id);
    await this.spares?.close(id);
    if (!existsSync(dir)) {
      if (options.force) return;
      throw notFound(`container ${id} not found`);
    }
    let record: ContainerRecord | undefined;
    try {
      record = this.record(id);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    if (record) {
      const state = await this.state(id);
      if (state.status !== "stopped") {
        if (!options.force && state.status === "running") {
          throw failedPrecondition(`container ${id} is running: stop it first or force the delete`);
        }
        await this.killAll(record);
        await waitForExit(dir, 10_000).catch(() => undefined);
      }
      if (isAlive(record)) throw failedPrecondition(`container ${id} did not exit after SIGKILL`);
      await (await this.cgroupOf(record)).destroy();
    } else {
      await this.removeCutShortCreate(id);
    }
    rmSync(dir, { recursive: true, force: true });
    this.records.delete(id);
    this.spares?.forget(id);
  }

  /** Lets every spare exec shim go (the daemon stopping). */
  closeSpares(): void {
    this.spares?.closeAll();
  }

  /**
   * A create cut short (its caller killed while skiff-shim set the container up) left
   * no container.json, but maybe a process waiting to be started in the cgroup the
   * spec names, and its monitor: the process is killed first (the monitor reaps it, so
   * no zombie is left to init), the cgroup removed, then a monitor still there killed.
   */
  private async removeCutShortCreate(id: string): Promise<void> {
    const dir = this.dir(id);
    let spec: Spec | undefined;
    try {
      spec = readJson<Spec>(join(dir, specFile), `spec of container ${id}`);
    } catch {
      spec = undefined; // the spec comes before the shim: without one, nothing was started
    }
    if (spec) {
      const cgroup = cgroupManagerFor(
        spec.linux?.cgroupsPath ?? `skiff/${id}`,
        await this.cgroupHierarchies(),
      );
      if (await cgroup.exists()) {
        for (let i = 0; i < 100; i++) {
          const pids = await cgroup.pids().catch(() => []);
          if (pids.length === 0) break;
          for (const pid of pids) signal(pid, "SIGKILL");
          await new Promise((r) => setTimeout(r, 50));
        }
        await cgroup.destroy();
      }
    }
    // The monitor (its working directory is the state dir) reaps its container and
    // exits; one still there after a second (its shim was cut short before it made the
    // container) is killed, and its waiting process dies with it.
    for (let i = 0; i < 20; i++) {
      const monitors = processesWorkingIn(dir);
      if (monitors.length === 0) return;
      if (i < 19) await new Promise((r) => setTimeout(r, 50));
      else for (const pid of monitors) signal(pid, "SIGKILL");
    }
  }

  private async killAll(record: ContainerRecord): Promise<void> {
    const cgroup = await this.cgroupOf(record);
    const pids = new Set([record.pid, ...(await cgroup.pids().catch(() => []))]);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }

  private async cgroupOf(record: ContainerRecord): Promise<CgroupManager> {
    return cgroupManagerFor(record.cgroupPath, await this.cgroupHierarchies());
  }

  /** Runs `proc` inside a running container, in its namespaces and cgroup, with its security setup. */
  async exec(
    id: string,
    proc: Partial<Process>,
    options: ExecOptions = {},
  ): Promise<ReturnType<typeof execInContainer>> {
    const { stdio = "pipe", ctlFifo, consoleSocket } = options;
    const dir = this.dir(id);
    const record = this.record(id);
    const state = await this.state(id);
    if (state.status !== "running" && state.status !== "created") {
      throw failedPrecondition(`container ${id} is ${state.status}: cannot exec in it`);
    }
    const spec = readJson<Spec>(join(dir, specFile), `spec of container ${id}`);
    const given = Object.fromEntries(
      Object.entries(proc).filter(([, v]) => v !== undefined && v !== ""),
    );
    const execSpec: Spec = {
      ...spec,
      process: { ...spec.process, ...given } as Process,
      mounts: [],
    };
    const cgroup = await this.cgroupOf(record);
    const hierarchies = await this.cgroupHierarchies();
    const base = planFromSpec(execSpec, {
      bundle: record.bundle,
      stateDir: dir,
      cgroup,
      hierarchies,
    });
    const types = (spec.linux?.namespaces ?? []).map((n) => n.type) as NamespaceType[];
    const plan: ShimPlan = {
      namespaces: joinNamespacesOf(record.pid, types),
      env: base.env,
      cwd: base.cwd,
      args: base.args,
      terminal: base.terminal ?? false,
    };
    for (const key of [
      "capabilities",
      "noNewPrivileges",
      "seccomp",
      "user",
      "rlimits",
      "cgroupV1",
      "cgroupV2",
    ] as const) {
      if (base[key] !== undefined) (plan as unknown as Record<string, unknown>)[key] = base[key];
    }
    if (proc.oomScoreAdj !== undefined) plan.oomScoreAdj = proc.oomScoreAdj;
    if (ctlFifo !== undefined) plan.ctlFifo = ctlFifo;
    if (consoleSocket !== undefined)
      plan.consoleSocket = consoleSocketPath(consoleSocket, plan.terminal);
    this.useSeccompCache(plan);
    // A spare takes the place of a shim spawned with piped stdio only.
    const spares =
      stdio === "pipe" && !options.detached && consoleSocket === undefined
        ? this.spares
        : undefined;
    const spare = spares?.take(id);
    const exec = execInContainer(
      plan,
      stdio,
      spare ? { spare } : { detached: options.detached === true },
    );
    if (spares) {
      const cgroups: Pick<ShimPlan, "cgroupV1" | "cgroupV2"> = {};
      if (plan.cgroupV1) cgroups.cgroupV1 = plan.cgroupV1;
      if (plan.cgroupV2 !== undefined) cgroups.cgroupV2 = plan.cgroupV2;
      // The next spare is parked once this exec is over and its answer has gone out
      // (a spawn blocks the event loop for milliseconds), while the container runs.
      void exec.result
        .catch(() => undefined)
        .then(async () => {
          await new Promise((r) => setTimeout(r, 30));
          if ((await this.state(id)).status === "running")
            spares.park(id, cgroups, cgroup.procsPaths(), hierarchies);
        })
        .catch(() => undefined);
    }
    return exec;
  }

  /** Applies new resource limits to a container's cgroup (CRI UpdateContainerResources). */
  async update(id: string, resources: LinuxResources): Promise<void> {
    const record = this.record(id);
    validateResources(resources);
    await (await this.cgroupOf(record)).update(resources);
  }

  /** The container cgroup's usage figures. */
  async stats(id: string): Promise<CgroupStats> {
    return (await this.cgroupOf(this.record(id))).stats();
  }

  /** The user its process runs as, from its spec; undefined if the spec is gone. */
  processUser(id: string): { uid: number; gid: number; additionalGids: number[] } | undefined {
    try {
      const user = readJson<Spec>(join(this.dir(id), specFile), `spec of ${id}`).process?.user;
      if (!user) return undefined;
      return { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids ?? [] };
    } catch {
      return undefined;
    }
  }

  /** Every process in the container's cgroup. */
  async pids(id: string): Promise<number[]> {
    return withoutSpares(await (await this.cgroupOf(this.record(id))).pids());
  }

  /** Compiled seccomp filters are cached by profile under the root (0700). */
  private useSeccompCache(plan: ShimPlan): void {
    if (!plan.seccomp) return;
    const dir = join(this.options.root, ".seccomp-cache");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    plan.seccompCacheFile = join(dir, seccompCacheName(plan.seccomp));
  }

  async list(): Promise<ContainerState[]> {
    const states: ContainerState[] = [];
    for (const id of readdirSync(this.options.root).sort()) {
      if (id.startsWith(".")) continue;
      if (!existsSync(join(this.options.root, id, recordFile))) continue;
      try {
        states.push(await this.state(id));
      } catch (err) {
        this.log.warn({ container_id: id, err: (err as Error).message }, "unreadable container");
      }
    }
    return states;
  }

  statePaths(id: string): ReturnType<typeof statePaths> {
    return statePaths(this.dir(id));
  }
}

/**
 * A console socket as the shim gets it: absolute, short enough for sockaddr_un's
 * sun_path (108 bytes with its NUL), and only for a process with a terminal.
 */
function consoleSocketPath(path: string, terminal: boolean | undefined): string {
  if (!terminal)
    throw new SkiffError("InvalidArgument", "a console socket needs process.terminal: true");
  const abs = resolve(path);
  if (Buffer.byteLength(abs) > 107)
    throw new SkiffError("InvalidArgument", `console socket path ${abs} is longer than 107 bytes`);
  return abs;
}

/**
 * Waits (at most 2 s) until the process has exec'd its program: until then it is still
 * skiff-shim, and as pid 1 of its namespace it would drop a stop signal sent right after
 * StartContainer returns (pid 1 gets only the signals it has handlers for).
 */
async function pastExec(pid: number): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    let exe: string;
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return; // exited already (or not ours to read): nothing to wait for
    }
    if (!exe.includes("skiff-shim") || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Sends `sig` to `pid`; a process already gone is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Processes whose working directory is `dir`. */
function processesWorkingIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}
