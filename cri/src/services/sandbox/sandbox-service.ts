/**
 * CRI pod sandboxes: a pod's namespaces held by an infra process (skiff-infra), its
 * network (a netns file attached through CNI), its cgroup, its /dev/shm and its files
 * (hostname, hosts, resolv.conf). State machine (CRI PodSandboxState; "creating" is a
 * store state only, never reported):
 *
 *   RunPodSandbox
 *        │ reserve the name: row "creating"
 *        ▼
 *   (creating) ── a step fails ──► undo every step made, newest first ──► (no row)
 *        │ dir, shm, pod cgroup, netns, CNI ADD, infra started
 *        ▼
 *      READY ── StopPodSandbox, or the infra process died ──► NOTREADY
 *        │                                                      │
 *        └──────────── RemovePodSandbox (stops first) ──────────┴──► removed (no row)
 *
 * Stop and remove are idempotent; stop releases what a stopped pod does not need
 * (containers stopped, infra process gone, CNI DEL, netns and shm unmounted); remove
 * also drops the pod's containers' records, its files, its cgroup (when Skiff made it;
 * another attempt of the pod sharing it inherits it, and the last one removes it)
 * and its row. Creation does not stop when the caller cancels: a kubelet that timed out
 * retries with the same name and gets the first attempt's id.
 *
 * Recovery (recover()): "creating" rows are rolled back (every step is idempotent and
 * derived from the id); READY pods whose infra monitor still runs are re-adopted, those
 * whose infra died become NOTREADY; any netns, CNI attachment, infra container or pod
 * directory no row knows is removed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import type { ContainerRuntime } from "../../core/container/runtime.js";
import { withoutSpares } from "../../core/container/exec-spares.js";
import { discoverHierarchies, type Hierarchies } from "../../core/cgroups/hierarchy.js";
import { cgroupManagerFor } from "../../core/cgroups/manager.js";
import { validateResources } from "../../core/oci/validate.js";
import type { CgroupManager } from "../../core/cgroups/cgroup-manager.js";
import type { CgroupStats } from "../../core/cgroups/stats.js";
import type { NetworkPlugin } from "../../core/cni/cni-manager.js";
import type { CapabilityArgs, PodIdentity } from "../../core/cni/runtime-config.js";
import { SkiffError, invalidArgument, notFound } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { NetnsManager } from "../../core/netns/netns.js";
import type { Store } from "../../core/store/store.js";
import type { LinuxContainerResources__Output } from "../../generated/runtime/v1/LinuxContainerResources.js";
import type { PodSandboxConfig__Output } from "../../generated/runtime/v1/PodSandboxConfig.js";
import type { SandboxContext } from "../container/container-spec.js";
import { crashPoint } from "../crash-point.js";
import { infraSpec, prepareInfraBundle } from "./infra.js";
import { hostsFile, resolvConf } from "./pod-files.js";
import { Rollback, withTimeout } from "./rollback.js";
import {
  podCgroup,
  podHostname,
  podNamespaces,
  podPortMappings,
  podResources,
  podSysctls,
  reservationName,
  sandboxRuntimeHandlers,
  type PodNamespaces,
} from "./sandbox-config.js";
import { SandboxStore, type SandboxRecord } from "./sandbox-store.js";
import { mountShm, unmountShm } from "./shm.js";

/** What the sandbox service needs from the container service (it implements these). */
export interface PodContainers {
  /** Ids of the containers of a pod, running or not. */
  idsOfSandbox(sandboxId: string): string[];
  /** Stops a container (signal, `timeoutS` grace, SIGKILL); a stopped one is fine. */
  stop(id: string, timeoutS: number): Promise<void>;
  /** Removes a container and its record; a missing one is fine. */
  remove(id: string): Promise<void>;
}

/** What the container service needs to know about a pod to create containers in it. */
export interface PodInfo {
  ready: boolean;
  context: SandboxContext;
  logDirectory: string;
  /** "<pod name>_<namespace>_<uid>" for the container name reservation. */
  reservationSuffix: string;
}

export interface SandboxServiceOptions {
  store: Store;
  /** The runtime that runs infra containers (its own root: every container in it is an infra). */
  runtime: ContainerRuntime;
  netns: NetnsManager;
  network: NetworkPlugin;
  /** Pod directories: <dir>/<id>/{hostname,hosts,resolv.conf,shm}. */
  dir: string;
  /** Where the infra bundle (rootfs with skiff-infra) is made once. */
  infraDir: string;
  log: Logger;
  hierarchies?: Hierarchies;
  /** The node's resolv.conf, for pods without a DNS config (default /etc/resolv.conf). */
  nodeResolvConf?: string;
  nodeHostname?: string;
}

export interface SandboxFilter {
  id?: string;
  state?: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  labels?: Record<string, string>;
}

export interface SandboxView {
  record: SandboxRecord;
  ready: boolean;
  namespaces: PodNamespaces;
  infraPid: number;
}

export interface RecoveryReport {
  adopted: string[];
  notReady: string[];
  rolledBack: string[];
  leaked: string[];
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const infraStopGraceMs = 2000;
/** How long recovery spends on one pod before it logs the pod and moves on. */
const recoveryBoundMs = 60_000;

export class SandboxService {
  private readonly o: SandboxServiceOptions;
  private readonly rows: SandboxStore;
  private readonly log: Logger;
  private hierarchies: Hierarchies | undefined;
  private containers: PodContainers | undefined;
  /** RunPodSandbox calls in progress, by reservation name. */
  private readonly inflight = new Map<string, Promise<string>>();
  /** Per-sandbox serialization of run/stop/remove/update. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Infra pids of ready pods (the namespace paths containers join). */
  private readonly infraPids = new Map<string, number>();
  private infraBundle: string | undefined;

  constructor(options: SandboxServiceOptions) {
    this.o = options;
    this.rows = new SandboxStore(options.store);
    this.log = options.log.child({ component: "sandbox" });
    this.hierarchies = options.hierarchies;
    mkdirSync(options.dir, { recursive: true, mode: 0o711 });
  }

  /** Wires the container service (which in turn looks pods up here). */
  setContainers(containers: PodContainers): void {
    this.containers = containers;
  }

  private async cgroupOf(path: string): Promise<CgroupManager> {
    this.hierarchies ??= await discoverHierarchies();
    return cgroupManagerFor(path, this.hierarchies);
  }

  private podDir(id: string): string {
    return join(this.o.dir, id);
  }

  // ---- RunPodSandbox ------------------------------------------------------------------

  async run(config: PodSandboxConfig__Output | null, runtimeHandler: string): Promise<string> {
    const name = reservationName(config);
    if (!sandboxRuntimeHandlers.includes(runtimeHandler)) {
      throw new SkiffError(
        "InvalidArgument",
        `runtime handler ${JSON.stringify(runtimeHandler)} is not supported (supported: ${sandboxRuntimeHandlers.map((h) => JSON.stringify(h)).join(", ")})`,
      );
    }
    const cfg = config as PodSandboxConfig__Output;
    // Every check before anything is made.
    const namespaces = podNamespaces(cfg);
    const sysctls = podSysctls(cfg);
    const portMappings = podPortMappings(cfg);
    const hostname = podHostname(cfg, this.o.nodeHostname ?? osHostname());
    const dns = resolvConf(cfg.dns_config);
    const resources = podResources(cfg.linux?.resources ?? null, cfg.linux?.overhead ?? null);
    validateResources(resources);
    podCgroup(cfg, "x");

    const pending = this.inflight.get(name);
    if (pending) return pending;
    const existing = this.rows.byName(name);
    if (existing) return existing.id;

    const id = randomBytes(32).toString("hex");
    const record: SandboxRecord = {
      id,
      name,
      state: "creating",
      createdNs: nowNs(),
      runtimeHandler,
      config: cfg,
      netnsPath: "",
      ips: [],
      infraId: "",
      cgroupPath: podCgroup(cfg, id),
      cgroupOwned: false,
      shmPath: namespaces.hostIpc ? "/dev/shm" : join(this.podDir(id), "shm"),
      hostname,
    };
    try {
      this.rows.reserve(record);
    } catch (err) {
      const winner = this.rows.byName(name);
      if (err instanceof SkiffError && err.kind === "AlreadyExists" && winner) return winner.id;
      throw err;
    }
    const creation = this.serialized(id, () =>
      this.create(record, { namespaces, sysctls, portMappings, dns, resources }),
    ).finally(() => this.inflight.delete(name));
    this.inflight.set(name, creation);
    return creation;
  }

  private async create(
    record: SandboxRecord,
    plan: {
      namespaces: PodNamespaces;
      sysctls: Record<string, string>;
      portMappings: CapabilityArgs["portMappings"];
      dns: string | undefined;
      resources: ReturnType<typeof podResources>;
    },
  ): Promise<string> {
    const { id, config } = record;
    const log = this.log.child({ pod_sandbox_id: id, name: record.name });
    const undo = new Rollback(log);
    undo.push("delete the store row", () => this.rows.delete(id));
    crashPoint("sandbox:after-reserve");
    let shmMounted: Promise<void> | undefined;
    let netnsMade: Promise<string> | undefined;
    let networkUp: Promise<void> | undefined;
    try {
      const dir = this.podDir(id);
      mkdirSync(dir, { mode: 0o755 });
      undo.push("remove the pod directory", () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, "hostname"), `${record.hostname}\n`, { mode: 0o644 });
      writeFileSync(join(dir, "resolv.conf"), plan.dns ?? this.nodeResolvConf(), { mode: 0o644 });
      writeFileSync(join(dir, "hosts"), hostsFile(record.hostname, []), { mode: 0o644 });

      // /dev/shm is mounted and the netns made (each by a process of its own) while the
      // cgroup is made
      if (!plan.namespaces.hostIpc) {
        const shm = record.shmPath;
        shmMounted = mountShm(shm);
        shmMounted.catch(() => undefined); // awaited below, or before the rollback
        undo.push("unmount /dev/shm", () => unmountShm(shm));
      }
      if (!plan.namespaces.hostNetwork) {
        netnsMade = this.o.netns.create(id);
        netnsMade.catch(() => undefined); // awaited below, or before the rollback
        undo.push("remove the netns", () => this.o.netns.remove(id));
      }

      const cgroup = await this.cgroupOf(record.cgroupPath);
      if (!(await cgroup.exists())) {
        record.cgroupOwned = true;
        this.rows.setCgroupOwned(id, true);
        undo.push("remove the pod cgroup", () => this.releaseCgroup(record));
      }
      await cgroup.create(plan.resources);

      const pod = podIdentity(record);
      if (netnsMade) {
        record.netnsPath = await netnsMade;
        this.rows.update(record);
        crashPoint("sandbox:after-netns");

        const capabilityArgs: CapabilityArgs = {};
        if (plan.portMappings && plan.portMappings.length > 0) {
          capabilityArgs.portMappings = plan.portMappings;
        }
        const dnsConfig = config.dns_config;
        if (dnsConfig && (dnsConfig.servers.length > 0 || dnsConfig.searches.length > 0)) {
          capabilityArgs.dns = {
            servers: dnsConfig.servers,
            searches: dnsConfig.searches,
            options: dnsConfig.options,
          };
        }
        const netnsPath = record.netnsPath;
        networkUp = (async () => {
          const attachment = await this.o.network.setUp({
            containerId: id,
            netns: netnsPath,
            pod,
            capabilityArgs,
          });
          undo.push("CNI DEL", () =>
            this.o.network.tearDown({ containerId: id, netns: netnsPath, pod }),
          );
          record.ips = attachment.ips;
          this.rows.update(record);
          crashPoint("sandbox:after-cni");
          writeFileSync(join(dir, "hosts"), hostsFile(record.hostname, record.ips), {
            mode: 0o644,
          });
        })();
      }

      // The infra process joins the netns while CNI sets it up: it only holds it.
      const infraCreated = (async () => {
        await shmMounted;
        this.infraBundle ??= prepareInfraBundle(this.o.infraDir);
        const spec = infraSpec({
          hostname: record.hostname,
          namespaces: plan.namespaces,
          ...(record.netnsPath !== "" ? { netnsPath: record.netnsPath } : {}),
          cgroupPath: `${record.cgroupPath}/${id}`,
          sysctls: plan.sysctls,
          annotations: { "io.skiff.sandbox.id": id, "io.skiff.sandbox.name": record.name },
        });
        undo.push("delete the infra container", () => this.o.runtime.delete(id, { force: true }));
        return this.o.runtime.create(id, this.infraBundle, spec);
      })();
      const [network, infra] = await Promise.allSettled([networkUp, infraCreated]);
      if (network.status === "rejected") throw network.reason;
      if (infra.status === "rejected") throw infra.reason;
      const state = infra.value;
      record.infraId = id;
      await this.o.runtime.start(id);
      crashPoint("sandbox:after-infra");

      record.state = "ready";
      this.rows.update(record);
      this.infraPids.set(id, state.pid ?? 0);
      crashPoint("sandbox:after-ready");
      undo.commit();
      log.info({ ips: record.ips, pid: state.pid }, "pod sandbox ready");
      return id;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "RunPodSandbox failed; rolling back");
      this.infraPids.delete(id);
      // no undo while a step may still run: the mount, the netns, CNI ADD, the infra's create
      await Promise.allSettled([shmMounted, netnsMade, networkUp]);
      await undo.run();
      throw err;
    }
  }

  private nodeResolvConf(): string {
    const path = this.o.nodeResolvConf ?? "/etc/resolv.conf";
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  }

  // ---- lookups ------------------------------------------------------------------------

  /** The record of `id` (a full id or an unambiguous prefix); NotFound otherwise. */
  resolve(id: string): SandboxRecord {
    if (id === "") throw invalidArgument("pod_sandbox_id is required");
    const exact = this.rows.get(id);
    if (exact) return exact;
    if (!/^[0-9a-f]{1,64}$/.test(id)) throw notFound(`pod sandbox ${id} not found`);
    const ids = this.rows.idsWithPrefix(id);
    if (ids.length > 1) throw invalidArgument(`pod sandbox id prefix ${id} is ambiguous`);
    const found = ids[0] === undefined ? undefined : this.rows.get(ids[0]);
    if (!found) throw notFound(`pod sandbox ${id} not found`);
    return found;
  }

  /** The record with its live state: a READY pod whose infra died is NOTREADY from now on. */
  async view(record: SandboxRecord): Promise<SandboxView> {
    const namespaces = podNamespaces(record.config);
    let pid = 0;
    if (record.state === "ready") {
      const state = await this.o.runtime.state(record.id).catch(() => undefined);
      if (state?.status === "running" || state?.status === "created") {
        pid = state.pid ?? 0;
        this.infraPids.set(record.id, pid);
      } else {
        this.log.warn({ pod_sandbox_id: record.id }, "infra process is gone: pod sandbox NOTREADY");
        record.state = "notready";
        this.infraPids.delete(record.id);
        this.rows.update(record);
      }
    }
    return { record, ready: record.state === "ready", namespaces, infraPid: pid };
  }

  async status(id: string): Promise<SandboxView> {
    const record = this.resolve(id);
    if (record.state === "creating") throw notFound(`pod sandbox ${id} is still being created`);
    return this.view(record);
  }

  async list(filter: SandboxFilter = {}): Promise<SandboxView[]> {
    const views: SandboxView[] = [];
    for (const record of this.rows.all()) {
      if (record.state === "creating") continue;
      if (filter.id && !record.id.startsWith(filter.id)) continue;
      if (!matchesLabels(record.config.labels, filter.labels)) continue;
      const view = await this.view(record);
      if (filter.state === "SANDBOX_READY" && !view.ready) continue;
      if (filter.state === "SANDBOX_NOTREADY" && view.ready) continue;
      views.push(view);
    }
    return views;
  }

  /**
   * What the pod cgroup reports (it holds the infra process and every container's cgroup,
   * so its counters cover the whole pod) and how many processes are in it; undefined
   * when the cgroup is gone or cannot be read.
   */
  async cgroupUsage(
    record: SandboxRecord,
  ): Promise<{ stats: CgroupStats; processCount: number } | undefined> {
    try {
      const cgroup = await this.cgroupOf(record.cgroupPath);
      if (!(await cgroup.exists())) return undefined;
      const [stats, pids] = await Promise.all([cgroup.stats(), cgroup.pids()]);
      return { stats, processCount: withoutSpares(pids).length };
    } catch (err) {
      this.log.debug({ pod_sandbox_id: record.id, err }, "pod cgroup not readable");
      return undefined;
    }
  }

  /** The pod as the container service needs it (PodLookup). NotFound if it does not exist. */
  podForContainers(sandboxId: string): PodInfo {
    const record = this.resolve(sandboxId);
    if (record.state === "creating")
      throw notFound(`pod sandbox ${sandboxId} is still being created`);
    const pid = this.infraPids.get(record.id);
    const ready = record.state === "ready" && pid !== undefined;
    const meta = record.config.metadata;
    return {
      ready,
      context: this.context(record, pid),
      logDirectory: record.config.log_directory,
      reservationSuffix: `${meta?.name ?? ""}_${meta?.namespace ?? ""}_${meta?.uid ?? ""}`,
    };
  }

  /** The SandboxContext the container spec builder takes. */
  context(record: SandboxRecord, infraPid: number | undefined): SandboxContext {
    const ns = podNamespaces(record.config);
    const dir = this.podDir(record.id);
    const nsPath = (type: string): string | undefined =>
      infraPid ? `/proc/${infraPid}/ns/${type}` : undefined;
    const context: SandboxContext = {
      id: record.id,
      hostNetwork: ns.hostNetwork,
      hostIpc: ns.hostIpc,
      hostPid: ns.hostPid,
      hostsPath: join(dir, "hosts"),
      resolvConfPath: join(dir, "resolv.conf"),
      hostnamePath: join(dir, "hostname"),
      shmPath: record.shmPath,
      cgroupParent: record.cgroupPath,
      sysctls: podSysctls(record.config),
    };
    const set = (
      key: "netnsPath" | "ipcnsPath" | "utsnsPath" | "pidnsPath",
      v: string | undefined,
    ) => {
      if (v !== undefined && v !== "") context[key] = v;
    };
    if (!ns.hostNetwork) {
      set("netnsPath", record.netnsPath);
      set("utsnsPath", nsPath("uts"));
    }
    if (!ns.hostIpc) set("ipcnsPath", nsPath("ipc"));
    if (ns.sharedPid) set("pidnsPath", nsPath("pid"));
    return context;
  }

  // ---- StopPodSandbox / RemovePodSandbox ----------------------------------------------

  /** Stops the pod: its containers, the infra process, CNI DEL, netns, shm. Idempotent. */
  async stop(id: string): Promise<void> {
    const record = this.resolve(id);
    await this.inflight.get(record.name)?.catch(() => undefined);
    await this.serialized(record.id, () => this.stopLocked(record.id));
  }

  private async stopLocked(id: string): Promise<void> {
    const record = this.rows.get(id);
    if (!record) return;
    const log = this.log.child({ pod_sandbox_id: id });
    if (this.containers) {
      for (const cid of this.containers.idsOfSandbox(id)) await this.containers.stop(cid, 0);
    }
    await this.stopInfra(id);
    this.infraPids.delete(id);
    if (record.shmPath !== "/dev/shm" && record.shmPath !== "") await unmountShm(record.shmPath);
    const ns = podNamespaces(record.config);
    const attached = record.netnsPath !== "" || this.o.network.attachments(id).length > 0;
    if (!ns.hostNetwork && attached) {
      await this.o.network.tearDown({
        containerId: id,
        ...(record.netnsPath !== "" ? { netns: record.netnsPath } : {}),
        pod: podIdentity(record),
      });
    }
    if (!ns.hostNetwork) await this.o.netns.remove(id);
    if (record.state !== "notready" || record.netnsPath !== "" || record.ips.length > 0) {
      record.state = "notready";
      record.netnsPath = "";
      record.ips = [];
      this.rows.update(record);
      log.info("pod sandbox stopped");
    }
  }

  private async stopInfra(id: string): Promise<void> {
    const state = await this.o.runtime.state(id).catch((err: unknown) => {
      if (err instanceof SkiffError && err.kind === "NotFound") return undefined;
      throw err;
    });
    if (!state) return;
    if (state.status === "running" || state.status === "created") {
      await this.o.runtime.kill(id, "SIGTERM").catch(() => undefined);
      await this.o.runtime.wait(id, infraStopGraceMs).catch(() => undefined);
    }
    await this.o.runtime.delete(id, { force: true });
  }

  /** Removes the pod and everything of it. A pod that does not exist is fine. */
  async remove(id: string): Promise<void> {
    let record: SandboxRecord;
    try {
      record = this.resolve(id);
    } catch (err) {
      if (err instanceof SkiffError && err.kind === "NotFound") return;
      throw err;
    }
    await this.inflight.get(record.name)?.catch(() => undefined);
    await this.serialized(record.id, async () => {
      await this.stopLocked(record.id);
      if (this.containers) {
        for (const cid of this.containers.idsOfSandbox(record.id))
          await this.containers.remove(cid);
      }
      await this.removeRest(record);
      this.log.info({ pod_sandbox_id: record.id }, "pod sandbox removed");
    });
  }

  /** Files, cgroup and row: the part of removal after the pod is stopped. */
  private async removeRest(record: SandboxRecord): Promise<void> {
    const dir = this.podDir(record.id);
    await unmountShm(join(dir, "shm"));
    rmSync(dir, { recursive: true, force: true });
    await this.releaseCgroup(record);
    this.rows.delete(record.id);
  }

  /**
   * Removes the pod cgroup if Skiff made it, unless another pod uses the same one (two
   * attempts of a pod share kubelet's cgroup_parent; removing the first must not reach
   * into the second's): those pods then own it, and the last one removed removes it.
   */
  private async releaseCgroup(record: SandboxRecord): Promise<void> {
    if (!(this.rows.get(record.id)?.cgroupOwned ?? record.cgroupOwned)) return;
    const sharing = this.rows
      .all()
      .filter((r) => r.id !== record.id && r.cgroupPath === record.cgroupPath);
    if (sharing.length === 0) return (await this.cgroupOf(record.cgroupPath)).destroy();
    for (const r of sharing) this.rows.setCgroupOwned(r.id, true);
    this.log.debug(
      { pod_sandbox_id: record.id, cgroup: record.cgroupPath, heirs: sharing.map((r) => r.id) },
      "pod cgroup left to the pods sharing it",
    );
  }

  // ---- UpdatePodSandboxResources ------------------------------------------------------

  async updateResources(
    id: string,
    overhead: LinuxContainerResources__Output | null,
    resources: LinuxContainerResources__Output | null,
  ): Promise<void> {
    const record = this.resolve(id);
    if (record.state === "creating") throw notFound(`pod sandbox ${id} is still being created`);
    await this.serialized(record.id, async () => {
      const current = this.rows.get(record.id);
      if (!current) throw notFound(`pod sandbox ${id} not found`);
      const linux = current.config.linux;
      const nextOverhead = overhead ?? linux?.overhead ?? null;
      const nextResources = resources ?? linux?.resources ?? null;
      const next = podResources(nextResources, nextOverhead);
      validateResources(next);
      const cgroup = await this.cgroupOf(current.cgroupPath);
      await cgroup.update(next);
      if (linux) {
        linux.overhead = nextOverhead;
        linux.resources = nextResources;
        this.rows.update(current);
      }
    });
  }

  // ---- recovery -----------------------------------------------------------------------

  /** Reconciles the store with the machine (see the header). Never throws for one pod. */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { adopted: [], notReady: [], rolledBack: [], leaked: [] };
    for (const record of this.rows.all()) {
      const log = this.log.child({ pod_sandbox_id: record.id });
      try {
        if (record.state === "creating") {
          await withTimeout(
            this.rollBackCreating(record),
            recoveryBoundMs,
            `roll back ${record.id}`,
          );
          report.rolledBack.push(record.id);
          log.info("half-created pod sandbox rolled back");
          continue;
        }
        const view = await this.view(record);
        if (view.ready) report.adopted.push(record.id);
        else report.notReady.push(record.id);
      } catch (err) {
        log.error({ err }, "pod sandbox recovery failed");
      }
    }
    const known = new Set(this.rows.all().map((r) => r.id));
    const leak = async (what: string, fn: () => Promise<void> | void) => {
      try {
        await fn();
        report.leaked.push(what);
        this.log.info({ what }, "removed a leftover the store does not know");
      } catch (err) {
        this.log.error({ err, what }, "could not remove a leftover");
      }
    };
    for (const c of await this.o.runtime.list()) {
      if (!known.has(c.id))
        await leak(`infra ${c.id}`, () => this.o.runtime.delete(c.id, { force: true }));
    }
    for (const a of this.o.network.attachments()) {
      if (!known.has(a.containerId)) {
        await leak(`cni ${a.containerId}`, () =>
          this.o.network.tearDown({ containerId: a.containerId, netns: a.netns }),
        );
      }
    }
    for (const e of this.o.netns.list()) {
      if (!known.has(e.name) || !e.mounted)
        await leak(`netns ${e.name}`, () => this.o.netns.remove(e.name));
    }
    for (const name of readdirSync(this.o.dir)) {
      if (!known.has(name)) {
        const dir = join(this.o.dir, name);
        await leak(`dir ${name}`, async () => {
          await unmountShm(join(dir, "shm"));
          rmSync(dir, { recursive: true, force: true });
        });
      }
    }
    return report;
  }

  /** Undoes whatever a crashed RunPodSandbox made; every step tolerates "not there". */
  private async rollBackCreating(record: SandboxRecord): Promise<void> {
    const { id } = record;
    await this.o.runtime.delete(id, { force: true });
    if (!podNamespaces(record.config).hostNetwork) {
      await this.o.network.tearDown({
        containerId: id,
        ...(existsSync(this.o.netns.pathOf(id)) ? { netns: this.o.netns.pathOf(id) } : {}),
        pod: podIdentity(record),
      });
      await this.o.netns.remove(id);
    }
    await this.removeRest(record);
  }

  private async serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}

function podIdentity(record: SandboxRecord): PodIdentity {
  const m = record.config.metadata;
  return {
    name: m?.name ?? "",
    namespace: m?.namespace ?? "",
    uid: m?.uid ?? "",
    infraContainerId: record.id,
  };
}

function matchesLabels(
  labels: Record<string, string>,
  selector: Record<string, string> | undefined,
): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}
