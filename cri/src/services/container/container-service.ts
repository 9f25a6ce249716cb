/**
 * CRI containers: create (image snapshot → rootfs mount → OCI spec → runtime create),
 * start, stop (signal, grace period, SIGKILL), remove, status, list, update resources,
 * reopen log, ExecSync, stats. State machine (CRI ContainerState):
 *
 *   (creating) ──create──► CREATED ──start──► RUNNING ──process exits──► EXITED ──remove──► gone
 *        │                    │                                          ▲
 *        └─ failure: undone   └──────────── stop / the process never ran ┘
 *
 * The runtime's state dir is the truth about the process (its exit file is written by
 * the C monitor even while skiff-cri is down); the store row holds what the CRI needs
 * besides and the exit as first seen. Every create step records its undo.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  watch,
  type FSWatcher,
} from "node:fs";
import { dirname, isAbsolute, join, posix } from "node:path";
import type { ContainerRuntime } from "../../core/container/runtime.js";
import {
  SkiffError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
} from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { countProcesses, type ProcessCounts } from "../../core/host/procfs.js";
import { hostFacts } from "../../core/oci/host-facts-cache.js";
import { allCapabilities } from "../../core/oci/capabilities.js";
import { mountAll, unmountAll } from "../../core/rootfs/mount.js";
import { readImageUsers } from "../../core/rootfs/users.js";
import type { OverlaySnapshotter } from "../../core/snapshots/overlay.js";
import type { Store } from "../../core/store/store.js";
import type { ContainerConfig__Output } from "../../generated/runtime/v1/ContainerConfig.js";
import type { LinuxContainerResources__Output } from "../../generated/runtime/v1/LinuxContainerResources.js";
import { crashPoint } from "../crash-point.js";
import type { ImageService } from "../image/image-service.js";
import type { ImageRecord } from "../image/image-store.js";
import {
  buildContainerSpec,
  containerResources,
  type HostDevice,
  type SandboxContext,
} from "./container-spec.js";

export type ContainerStateName = "creating" | "created" | "running" | "exited";

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  imageId: string;
  imageRef: string;
  state: ContainerStateName;
  config: ContainerConfig__Output;
  logPath: string;
  createdNs: bigint;
  startedNs: bigint;
  finishedNs: bigint;
  exitCode: number;
  reason: string;
  message: string;
}

/** The identity of a container's process: uid, gid and every group it holds. */
export interface ProcessUser {
  uid: number;
  gid: number;
  groups: number[];
}

/** What the sandbox service tells the container service about a pod. */
export interface PodInfo {
  ready: boolean;
  context: SandboxContext;
  logDirectory: string;
  /** "<pod name>_<namespace>_<uid>" for the container name reservation. */
  reservationSuffix: string;
}

export interface PodLookup {
  /** NotFound if the pod does not exist. */
  podForContainers(sandboxId: string): PodInfo;
}

export interface ContainerServiceOptions {
  store: Store;
  runtime: ContainerRuntime;
  images: ImageService;
  snapshotter: OverlaySnapshotter;
  pods: PodLookup;
  /** Where container directories (rootfs mount, volumes) live. */
  dir: string;
  log: Logger;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** CVE-2022-31030: ExecSync output is capped, each stream, and the cut is said. */
export const execSyncCap = 16 * 1024 * 1024;
const truncatedNote = Buffer.from("\n[output truncated: more than 16 MiB]\n");

/**
 * A timeout in seconds as timer milliseconds: setTimeout fires at once for a delay past
 * 2^31-1 ms (24.8 days), so a longer one waits that long.
 */
const timerMs = (seconds: number): number => Math.min(seconds * 1000, 2 ** 31 - 1);

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

export type ContainerEventType = "created" | "started" | "stopped" | "deleted";

export interface ContainerEvent {
  containerId: string;
  sandboxId: string;
  type: ContainerEventType;
  atNs: bigint;
}

export class ContainerService {
  private readonly o: ContainerServiceOptions;
  /** ContainerStatus.user of each container, once read from its spec. */
  private readonly users = new Map<string, ProcessUser>();
  /** Lifecycle events for GetContainerEvents (kubelet's evented PLEG). */
  readonly events = new EventEmitter<{ event: [ContainerEvent] }>();
  private exitWatch: NodeJS.Timeout | undefined;
  /**
   * Every container past "creating", in creation order: the store's rows, kept in memory
   * so ListContainers reads no row and no file. Each write to the table updates it.
   */
  private cached: Map<string, ContainerRecord> | undefined;
  /** An inotify watch on the state dir of each created or running container: its exit file. */
  private readonly exitWatchers = new Map<string, FSWatcher>();
  private lastSweep = 0;

  constructor(options: ContainerServiceOptions) {
    this.o = options;
    mkdirSync(options.dir, { recursive: true, mode: 0o711 });
    this.events.setMaxListeners(0);
  }

  private emit(record: Pick<ContainerRecord, "id" | "sandboxId">, type: ContainerEventType): void {
    this.events.emit("event", {
      containerId: record.id,
      sandboxId: record.sandboxId,
      type,
      atNs: nowNs(),
    });
  }

  /**
   * While someone listens for events, notice exits nobody asked about: every second the
   * running containers' exit files are read (a stat each).
   */
  watchExits(enable: boolean): void {
    if (enable && !this.exitWatch) {
      this.exitWatch = setInterval(() => void this.sweep().catch(() => undefined), 1000);
      this.exitWatch.unref();
    } else if (!enable && this.exitWatch) {
      clearInterval(this.exitWatch);
      this.exitWatch = undefined;
    }
  }

  private containerDir(id: string): string {
    return join(this.o.dir, id);
  }

  async create(sandboxId: string, config: ContainerConfig__Output | null): Promise<string> {
    if (!config) throw invalidArgument("config: required");
    const metadataName = config.metadata?.name ?? "";
    if (metadataName === "") throw invalidArgument("config.metadata.name: required");
    const imageRef = config.image?.image ?? "";
    if (imageRef === "") throw invalidArgument("config.image.image: required");
    const pod = this.o.pods.podForContainers(sandboxId);
    if (!pod.ready) throw failedPrecondition(`pod sandbox ${sandboxId} is not ready`);
    const name = `${metadataName}_${pod.reservationSuffix}_${config.metadata?.attempt ?? 0}`;
    const existing = this.o.store.get("SELECT id FROM containers WHERE name = ?", name);
    if (existing)
      throw alreadyExists(`container name ${name} is reserved for ${String(existing["id"])}`);
    const image = this.o.images.resolve(imageRef);
    if (!image) throw notFound(`image ${imageRef} not found: pull it first`);
    const volumeImages = this.resolveImageVolumes(config);

    const id = randomBytes(32).toString("hex");
    const dir = this.containerDir(id);
    const rootfs = join(dir, "rootfs");
    const undo: (() => Promise<void> | void)[] = [];
    const record: ContainerRecord = {
      id,
      sandboxId,
      name,
      imageId: image.id,
      imageRef,
      state: "creating",
      config,
      logPath: config.log_path && pod.logDirectory ? join(pod.logDirectory, config.log_path) : "",
      createdNs: nowNs(),
      startedNs: 0n,
      finishedNs: 0n,
      exitCode: 0,
      reason: "",
      message: "",
    };
    try {
      this.insert(record);
      undo.push(() => void this.o.store.run("DELETE FROM containers WHERE id = ?", id));
      mkdirSync(rootfs, { recursive: true, mode: 0o711 });
      undo.push(() => rmSync(dir, { recursive: true, force: true }));
      const mounts = await this.o.snapshotter.prepare(id, image.topChainId || undefined, {
        labels: { "skiff.dev/container": id },
      });
      undo.push(() => this.o.snapshotter.remove(id));
      await mountAll(mounts, rootfs);
      undo.push(() => unmountAll(rootfs));
      crashPoint("container:after-rootfs");
      undo.push(() => this.unmountImageVolumes(id));
      const imageVolumes = await this.mountImageVolumes(id, config, volumeImages);
      if (record.logPath) mkdirSync(dirname(record.logPath), { recursive: true });
      const facts = await hostFacts();
      const spec = buildContainerSpec({
        id,
        config,
        image: image.config.config ?? {},
        rootfs,
        users: readImageUsers(rootfs),
        sandbox: pod.context,
        imageVolumeSources: imageVolumes,
        volumeDir: (path) => {
          const volume = join(dir, "volumes", path);
          mkdirSync(volume, { recursive: true });
          return volume;
        },
        hostDevice,
        allHostDevices,
        appArmorEnabled: facts.appArmor,
        selinuxEnabled: facts.selinux,
        capLastCap: facts.capLastCap,
        boundingSet: ownBoundingSet(),
        readSeccompProfile: (path) => readFileSync(path, "utf8"),
      });
      const createOptions: { logPath?: string; stdin?: boolean } = { stdin: config.stdin };
      if (record.logPath) createOptions.logPath = record.logPath;
      await this.o.runtime.create(id, dir, spec, createOptions);
      undo.push(() => this.o.runtime.delete(id, { force: true }));
      crashPoint("container:after-shim");
      this.o.store.run("UPDATE containers SET state = 'created' WHERE id = ?", id);
      record.state = "created";
      this.records().set(id, record);
      this.watchExit(record);
      this.emit(record, "created");
      this.o.log.info({ container_id: id, pod_sandbox_id: sandboxId, name }, "container created");
      return id;
    } catch (err) {
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (undoErr) {
          this.o.log.warn(
            { container_id: id, err: (undoErr as Error).message },
            "create rollback step failed",
          );
        }
      }
      throw err;
    }
  }

  /**
   * Image volumes (KEP-4639): the image each mount names, which must be pulled; the
   * mount's image_ref records it (ContainerStatus reports it, rmi sees it in use).
   */
  private resolveImageVolumes(config: ContainerConfig__Output): Map<number, ImageRecord> {
    const images = new Map<number, ImageRecord>();
    for (const [i, m] of config.mounts.entries()) {
      if (!m.image?.image) continue;
      // As kubelet sends them: an image is shared content, never a writable volume.
      if (!m.readonly)
        throw invalidArgument(`config.mounts[${i}].readonly: an image volume must be read-only`);
      const image = this.o.images.resolve(m.image.image);
      if (!image)
        throw notFound(`config.mounts[${i}].image: ${m.image.image} not found: pull it first`);
      m.image.image_ref = image.id;
      images.set(i, image);
    }
    return images;
  }

  /**
   * Each image volume is a read-only overlay view of its image's layers under the
   * container's directory. Returns mount index → the directory to bind, its
   * image_sub_path resolved inside the image.
   */
  private async mountImageVolumes(
    id: string,
    config: ContainerConfig__Output,
    images: Map<number, ImageRecord>,
  ): Promise<Map<number, string>> {
    const sources = new Map<number, string>();
    for (const [i, image] of images) {
      const m = config.mounts[i]!;
      const target = join(this.containerDir(id), "image-volumes", String(i));
      mkdirSync(target, { recursive: true, mode: 0o700 });
      const mounts = await this.o.snapshotter.view(
        imageVolumeKey(id, i),
        image.topChainId || undefined,
        { labels: { "skiff.dev/container": id } },
      );
      await mountAll(mounts, target);
      sources.set(i, imageSubPath(target, m.image_sub_path, `config.mounts[${i}].image_sub_path`));
    }
    return sources;
  }

  private async unmountImageVolumes(id: string): Promise<void> {
    const dir = join(this.containerDir(id), "image-volumes");
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      await unmountAll(join(dir, entry));
      try {
        await this.o.snapshotter.remove(imageVolumeKey(id, Number(entry)));
      } catch (err) {
        if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
      }
    }
  }

  private insert(r: ContainerRecord): void {
    this.o.store.run(
      `INSERT INTO containers (id, sandbox_id, name, image_id, image_ref, state, config, log_path, created_ns)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.id,
      r.sandboxId,
      r.name,
      r.imageId,
      r.imageRef,
      r.state,
      JSON.stringify(r.config),
      r.logPath,
      r.createdNs.toString(),
    );
  }

  /** The record, with the exit folded in if the process ended since we last looked. */
  async get(id: string): Promise<ContainerRecord> {
    const record = this.records().get(id);
    if (!record) throw notFound(`container ${id} not found`);
    if (record.state === "created" || record.state === "running") await this.observeExit(record);
    return record;
  }

  private records(): Map<string, ContainerRecord> {
    if (!this.cached) {
      const rows = this.o.store.all(
        "SELECT * FROM containers WHERE state != 'creating' ORDER BY created_ns",
      );
      this.cached = new Map(rows.map((row) => [String(row["id"]), toRecord(row)]));
      for (const r of this.cached.values()) this.watchExit(r);
    }
    return this.cached;
  }

  /**
   * Notices the exit file of a created or running container as soon as its monitor writes
   * it, so a list shows the exit without reading any file. (A monitor killed before it
   * could write one is noticed by get() and by the sweep.)
   */
  private watchExit(record: ContainerRecord): void {
    if (record.state === "exited" || this.exitWatchers.has(record.id)) return;
    try {
      const w = watch(this.stateDir(record.id), (_event, name) => {
        if (name === "exit") void this.get(record.id).catch(() => undefined);
      });
      w.on("error", () => this.unwatchExit(record.id));
      w.unref();
      this.exitWatchers.set(record.id, w);
    } catch {
      // no state dir: the runtime no longer knows it, which get() and the sweep report
    }
  }

  private unwatchExit(id: string): void {
    this.exitWatchers.get(id)?.close();
    this.exitWatchers.delete(id);
  }

  private async observeExit(record: ContainerRecord): Promise<void> {
    let state;
    try {
      state = await this.o.runtime.state(record.id);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
      state = undefined;
    }
    // a second observer (the watch, a get, the sweep) may have folded the exit in meanwhile
    if ((state && state.status !== "stopped") || record.state === "exited") return;
    this.unwatchExit(record.id);
    const exit = state?.exit;
    record.state = "exited";
    record.finishedNs = exit ? exit.exitedAtNs : nowNs();
    record.exitCode = exit ? exit.exitCode : 255;
    record.reason = !exit
      ? "Unknown"
      : exit.oomKilled
        ? "OOMKilled"
        : exit.exitCode === 0
          ? "Completed"
          : "Error";
    record.message =
      exit?.error ?? (exit ? "" : "the container's monitor is gone; its exit status is unknown");
    if (record.startedNs === 0n && exit?.error) record.reason = "StartError";
    this.o.store.run(
      "UPDATE containers SET state = 'exited', finished_ns = ?, exit_code = ?, reason = ?, message = ? WHERE id = ?",
      record.finishedNs.toString(),
      record.exitCode,
      record.reason,
      record.message,
      record.id,
    );
    this.emit(record, "stopped");
  }

  async start(id: string): Promise<void> {
    const record = await this.get(id);
    if (record.state !== "created")
      throw failedPrecondition(`container ${id} is ${record.state}, not created`);
    await this.o.runtime.start(id);
    const started = nowNs();
    this.o.store.run(
      "UPDATE containers SET state = 'running', started_ns = ? WHERE id = ?",
      started.toString(),
      id,
    );
    record.state = "running";
    record.startedNs = started;
    this.emit(record, "started");
    this.o.log.info({ container_id: id }, "container started");
  }

  /**
   * Signal (the config's stop signal, else SIGTERM; held back until the program can
   * receive it), up to `timeoutS` in all, then SIGKILL. Idempotent.
   */
  async stop(id: string, timeoutS: number): Promise<void> {
    const record = await this.get(id);
    if (record.state === "exited") return;
    if (record.state === "created") {
      await this.o.runtime.kill(id, "SIGKILL").catch(ignoreNotRunning);
    } else {
      const signal = stopSignal(record.config);
      if (timeoutS > 0) {
        const deadline = Date.now() + timerMs(timeoutS);
        // A stop right after start can beat the program's handler: init would drop it.
        await this.o.runtime.untilSignalReaches(id, signal, timerMs(timeoutS));
        await this.o.runtime.kill(id, signal).catch(ignoreNotRunning);
        crashPoint("container:after-stop-signal");
        try {
          await this.o.runtime.wait(id, Math.max(deadline - Date.now(), 1));
        } catch (err) {
          if (!(err instanceof SkiffError && err.kind === "DeadlineExceeded")) throw err;
        }
      }
      await this.o.runtime.kill(id, "SIGKILL", { all: true }).catch(ignoreNotRunning);
    }
    await this.o.runtime.wait(id, 10_000);
    await this.get(id);
    this.o.log.info({ container_id: id }, "container stopped");
  }

  /** Idempotent: a missing container is not an error. */
  async remove(id: string): Promise<void> {
    const row = this.o.store.get("SELECT id, sandbox_id FROM containers WHERE id = ?", id);
    if (!row) return;
    const sandboxId = String(row["sandbox_id"]);
    this.unwatchExit(id);
    await this.o.runtime.delete(id, { force: true });
    const rootfs = join(this.containerDir(id), "rootfs");
    await unmountAll(rootfs);
    await this.unmountImageVolumes(id);
    try {
      await this.o.snapshotter.remove(id);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    rmSync(this.containerDir(id), { recursive: true, force: true });
    this.o.store.run("DELETE FROM containers WHERE id = ?", id);
    this.records().delete(id);
    this.users.delete(id);
    this.emit({ id, sandboxId }, "deleted");
    this.o.log.info({ container_id: id }, "container removed");
  }

  /**
   * Every container, from memory: exits show through the exit-file watches. At most once a
   * second a list also starts a sweep (in the background, so no list waits for it).
   */
  list(): ContainerRecord[] {
    if (Date.now() - this.lastSweep > 1000) void this.sweep().catch(() => undefined);
    return [...this.records().values()];
  }

  /** Reads the state of every created or running container: catches monitors that died. */
  private async sweep(): Promise<void> {
    this.lastSweep = Date.now();
    for (const r of [...this.records().values()])
      if (r.state === "created" || r.state === "running") await this.observeExit(r);
  }

  idsOfSandbox(sandboxId: string): string[] {
    return this.o.store
      .all("SELECT id FROM containers WHERE sandbox_id = ?", sandboxId)
      .map((r) => String(r["id"]));
  }

  /** A container runs the image or mounts it as an image volume. */
  usesImage(imageId: string): boolean {
    const asVolume = `%"image_ref":${JSON.stringify(imageId)}%`;
    return (
      this.o.store.get(
        "SELECT 1 AS x FROM containers WHERE image_id = ? OR config LIKE ? LIMIT 1",
        imageId,
        asVolume,
      ) !== undefined
    );
  }

  async updateResources(
    id: string,
    resources: LinuxContainerResources__Output | null,
  ): Promise<void> {
    const record = await this.get(id);
    if (record.state === "exited") throw failedPrecondition(`container ${id} has exited`);
    await this.o.runtime.update(id, containerResources(resources));
    if (resources && record.config.linux) {
      record.config.linux.resources = resources;
      this.o.store.run(
        "UPDATE containers SET config = ? WHERE id = ?",
        JSON.stringify(record.config),
        id,
      );
    }
  }

  async reopenLog(id: string): Promise<void> {
    const record = await this.get(id);
    if (record.state !== "running") throw failedPrecondition(`container ${id} is not running`);
    const { reopenContainerLog } = await import("../../core/shim/shim-client.js");
    reopenContainerLog(this.stateDir(id));
  }

  /** The runtime state directory of a container (its monitor's attach socket lives there). */
  stateDir(id: string): string {
    return this.o.runtime.statePaths(id).attach.replace(/\/attach$/, "");
  }

  /**
   * Starts `cmd` in a running container: the one exec path, for ExecSync and the
   * streaming Exec. With a tty, `ctlFifo` carries resize commands to the shim.
   */
  async execProcess(id: string, cmd: string[], tty: boolean, ctlFifo?: string) {
    const record = await this.get(id);
    if (record.state !== "running") throw failedPrecondition(`container ${id} is not running`);
    if (cmd.length === 0) throw invalidArgument("cmd: required");
    return this.o.runtime.exec(id, { args: cmd, terminal: tty }, ctlFifo ? { ctlFifo } : {});
  }

  /** Runs `cmd` in the container; stdout and stderr are each capped (CVE-2022-31030). */
  async execSync(id: string, cmd: string[], timeoutS: number): Promise<ExecSyncResult> {
    const { child, result } = await this.execProcess(id, cmd, false);
    // Each stream keeps at most execSyncCap bytes, the truncation note included.
    const collect = (stream: NodeJS.ReadableStream | null) => {
      const keep = execSyncCap - truncatedNote.length;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      stream?.on("data", (chunk: Buffer) => {
        const room = keep - size;
        if (chunk.length > room) truncated = true;
        if (room <= 0) return;
        chunks.push(chunk.subarray(0, room));
        size += Math.min(room, chunk.length);
      });
      return () => Buffer.concat(truncated ? [...chunks, truncatedNote] : chunks);
    };
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      if (timeoutS > 0) timer = setTimeout(() => resolve("timeout"), timerMs(timeoutS));
    });
    const outcome = await Promise.race([result, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      await endExec(child, result);
      throw new SkiffError(
        "DeadlineExceeded",
        `command timed out after ${timeoutS}s in container ${id}`,
      );
    }
    await Promise.all([streamEnd(child.stdout), streamEnd(child.stderr)]);
    return { stdout: stdout(), stderr: stderr(), exitCode: outcome.exitCode };
  }

  /**
   * The identity of the container's process for ContainerStatus.user: uid, gid, and every
   * group it holds (the primary one included, as `id -G` lists them).
   */
  processUser(id: string): ProcessUser | undefined {
    // Read from the spec once: kubelet asks for ContainerStatus often, the user never changes.
    const cached = this.users.get(id);
    if (cached) return cached;
    const user = this.o.runtime.processUser(id);
    if (!user) return undefined;
    const groups = [...new Set([user.gid, ...user.additionalGids])].sort((a, b) => a - b);
    const found = { uid: user.uid, gid: user.gid, groups };
    this.users.set(id, found);
    return found;
  }

  /** Processes, threads, open files and sockets of the container's cgroup. */
  async processCounts(id: string): Promise<ProcessCounts> {
    return countProcesses(await this.o.runtime.pids(id).catch(() => []));
  }

  async stats(id: string): Promise<{
    record: ContainerRecord;
    stats: Awaited<ReturnType<ContainerRuntime["stats"]>> | undefined;
    writableBytes: number;
    writableInodes: number;
  }> {
    const record = await this.get(id);
    let stats;
    try {
      stats = record.state === "exited" ? undefined : await this.o.runtime.stats(id);
    } catch {
      stats = undefined;
    }
    let usage = { size: 0, inodes: 0 };
    try {
      usage = await this.o.snapshotter.usage(id);
    } catch {
      // removed meanwhile
    }
    return { record, stats, writableBytes: usage.size, writableInodes: usage.inodes };
  }

  /**
   * After a restart: a row left "creating" by a crash is rolled back, and directories,
   * mounts and snapshots no row owns are removed. Containers that ran on are kept: their
   * monitors kept running and their exit files tell what happened meanwhile.
   */
  async recover(): Promise<{ rolledBack: string[]; strays: string[] }> {
    const rolledBack = this.o.store
      .all("SELECT id FROM containers WHERE state = 'creating'")
      .map((r) => String(r["id"]));
    for (const id of rolledBack) {
      await this.o.runtime.delete(id, { force: true }).catch(() => undefined);
      await this.forget(id);
    }
    const strays = this.strayDirectories();
    for (const id of strays) await this.forget(id);
    await this.sweep();
    return { rolledBack, strays };
  }

  private async forget(id: string): Promise<void> {
    this.unwatchExit(id);
    this.cached?.delete(id);
    await unmountAll(join(this.containerDir(id), "rootfs"));
    await this.unmountImageVolumes(id);
    try {
      await this.o.snapshotter.remove(id);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    rmSync(this.containerDir(id), { recursive: true, force: true });
    this.o.store.run("DELETE FROM containers WHERE id = ?", id);
  }

  /** Ids of containers whose directory exists but whose row does not (crash leftovers). */
  strayDirectories(): string[] {
    const known = new Set(
      this.o.store.all("SELECT id FROM containers").map((r) => String(r["id"])),
    );
    return readdirSync(this.o.dir).filter((d) => !known.has(d));
  }
}

function streamEnd(stream: NodeJS.ReadableStream | null): Promise<void> {
  if (!stream || (stream as unknown as { readableEnded?: boolean }).readableEnded)
    return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
  });
}

function ignoreNotRunning(err: unknown): void {
  if (err instanceof SkiffError && (err.kind === "FailedPrecondition" || err.kind === "NotFound"))
    return;
  throw err;
}

/** The config's stop signal (CRI enum SIGNAL_<NAME>), else SIGTERM. */
function stopSignal(config: ContainerConfig__Output): NodeJS.Signals | number {
  const name = String(config.stop_signal ?? "").replace(/^SIGNAL_/, "");
  if (name === "" || name === "RUNTIME_DEFAULT") return "SIGTERM";
  return name as NodeJS.Signals;
}

function toRecord(row: Record<string, unknown>): ContainerRecord {
  return {
    id: String(row["id"]),
    sandboxId: String(row["sandbox_id"]),
    name: String(row["name"]),
    imageId: String(row["image_id"]),
    imageRef: String(row["image_ref"]),
    state: String(row["state"]) as ContainerStateName,
    config: JSON.parse(String(row["config"]), reviveBuffers) as ContainerConfig__Output,
    logPath: String(row["log_path"]),
    createdNs: BigInt(String(row["created_ns"])),
    startedNs: BigInt(String(row["started_ns"])),
    finishedNs: BigInt(String(row["finished_ns"])),
    exitCode: Number(row["exit_code"]),
    reason: String(row["reason"]),
    message: String(row["message"]),
  };
}

/** JSON.stringify writes Buffers (env values are bytes in the CRI) as {type, data}. */
function reviveBuffers(_key: string, value: unknown): unknown {
  if (
    value &&
    typeof value === "object" &&
    (value as { type?: string }).type === "Buffer" &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

function deviceOf(path: string): HostDevice | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
  if (!type) return undefined;
  const rdev = st.rdev;
  return {
    path,
    type,
    major: Number((BigInt(rdev) >> 8n) & 0xfffn),
    minor: Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & 0xfff00n)),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

const hostDevice = (path: string): HostDevice | undefined => deviceOf(path);

function allHostDevices(): HostDevice[] {
  const out: HostDevice[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (
        e.isDirectory() &&
        depth < 3 &&
        e.name !== "pts" &&
        e.name !== "shm" &&
        e.name !== "mqueue"
      )
        walk(path, depth + 1);
      else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const d = deviceOf(path);
        if (d && path !== "/dev/console" && path !== "/dev/ptmx") out.push(d);
      }
    }
  };
  walk("/dev", 0);
  return out;
}

/**
 * Ends an exec: SIGTERM asks its skiff-shim to SIGKILL the process and reap it (killing
 * the shim would leave a zombie under the container's init); SIGKILL after a grace.
 */
export async function endExec(child: ChildProcess, result: Promise<unknown>): Promise<void> {
  child.kill("SIGTERM");
  const grace = setTimeout(() => child.kill("SIGKILL"), 2000);
  await result.catch(() => undefined);
  clearTimeout(grace);
}

const imageVolumeKey = (id: string, index: number) => `${id}/image-volume/${index}`;

/**
 * `sub` inside the mounted image at `root`: relative, no "..", existing, and not leaving
 * the image through a symlink (it is resolved on the host, where a link would point at
 * the host's files).
 */
function imageSubPath(root: string, sub: string, field: string): string {
  if (sub === "") return root;
  const normal = posix.normalize(sub);
  if (isAbsolute(sub) || normal === ".." || normal.startsWith("../"))
    throw invalidArgument(`${field}: "${sub}" must be a relative path inside the image`);
  let real: string;
  try {
    real = realpathSync(join(root, normal));
  } catch {
    throw invalidArgument(`${field}: "${sub}" does not exist in the image`);
  }
  if (real !== root && !real.startsWith(`${root}/`))
    throw invalidArgument(`${field}: "${sub}" leads outside the image`);
  return real;
}

let boundingSetCache: string[] | undefined;

/** The capabilities in skiff-cri's own bounding set (CapBnd of /proc/self/status). */
function ownBoundingSet(): string[] {
  if (boundingSetCache) return boundingSetCache;
  const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  const mask = BigInt(`0x${line?.[1] ?? "0"}`);
  boundingSetCache = allCapabilities.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
  return boundingSetCache;
}
