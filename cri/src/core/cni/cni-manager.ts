/**
 * Skiff's CNI invoker: the `NetworkPlugin` the sandbox service uses to attach a pod's
 * network namespace to the default network (the first valid configuration of the conf
 * dir), check it, and detach it again, plus the NetworkReady condition.
 *
 *   setUp      cache the intent → ADD the list → cache the result; on failure DEL
 *              what was added and drop the cache, so nothing is left half-attached
 *   check      CHECK with the cached result and config
 *   tearDown   DEL every cached attachment of the container (with the config and
 *              result it was added with, in reverse order), then drop the cache; with
 *              nothing cached, DEL on the default network without prevResult; a missing
 *              netns is passed as no CNI_NETNS. Idempotent.
 *   readiness  ready once a valid network exists whose plugins are installed, whose pod
 *              CIDR is known when it needs one, and whose plugins answer STATUS (1.1)
 *
 * Calls for one container are serialized (the spec forbids parallel operations on the
 * same container); different containers run in parallel.
 *
 * Pod CIDR (UpdateRuntimeConfig): `setPodCidr` records the node's pod CIDRs. Networks
 * whose IPAM says `"subnet": "usePodCidr"` get it substituted (and are not ready until it
 * is known); plugins declaring the `ipRanges` capability get it as runtimeConfig.ipRanges
 * (host-local honours that) unless the caller passes its own.
 */
import { existsSync } from "node:fs";
import { SkiffError, failedPrecondition, invalidArgument } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import {
  loadConfigDir,
  namePattern,
  usesPodCidr,
  withPodCidr,
  type LoadedConfigs,
  type NetworkConfigList,
} from "./config.js";
import { ConfWatcher } from "./conf-watcher.js";
import { findPlugin, type ExecOptions } from "./exec.js";
import { addList, checkList, delList, statusList, type AttachmentParams } from "./network-list.js";
import { podIps, type CniResult } from "./result.js";
import { ResultCache, cacheKind, type CachedAttachment } from "./result-cache.js";
import { cniArgs, validArgValue, type CapabilityArgs, type PodIdentity } from "./runtime-config.js";
import { hasStatus } from "./version.js";

export interface NetworkReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

export interface CniOptions {
  confDir: string;
  binDirs: readonly string[];
  /** Where attachments are cached, e.g. <root>/cni/cache. */
  cacheDir: string;
  /** Timeout of one plugin call (default 60 s). */
  timeoutMs?: number;
  /** Watch the conf dir (default true). */
  watch?: boolean;
  debounceMs?: number;
  pollMs?: number;
  /** How often STATUS is re-run for 1.1 networks (default 15 s; 0: only on reload). */
  statusIntervalMs?: number;
  log?: Logger;
}

export interface SetUpRequest {
  /** The sandbox id: CNI_CONTAINERID. */
  containerId: string;
  /** Path of the pod's network namespace. */
  netns: string;
  /** Interface inside the pod (default eth0). */
  ifName?: string;
  /** Network by name (default: the default network). */
  network?: string;
  pod?: PodIdentity;
  capabilityArgs?: CapabilityArgs;
}

export interface TearDownRequest {
  containerId: string;
  /** The netns path; a missing or absent one is fine. */
  netns?: string;
  ifName?: string;
  network?: string;
  pod?: PodIdentity;
  capabilityArgs?: CapabilityArgs;
}

export interface PodNetworkAttachment {
  network: string;
  containerId: string;
  ifName: string;
  netns: string;
  /** The pod's addresses, IPv4 first (for PodSandboxStatus). */
  ips: string[];
  result: CniResult;
}

export type ReadinessListener = (readiness: NetworkReadiness) => void;

/** The seam between the sandbox service and pod networking. */
export interface NetworkPlugin {
  readiness(): NetworkReadiness;
  onReadinessChange(listener: ReadinessListener): () => void;
  setUp(req: SetUpRequest): Promise<PodNetworkAttachment>;
  check(req: {
    containerId: string;
    netns?: string;
    ifName?: string;
    network?: string;
  }): Promise<void>;
  tearDown(req: TearDownRequest): Promise<void>;
  /** Cached attachments (all, or one container's), for recovery and pod status. */
  attachments(containerId?: string): PodNetworkAttachment[];
  setPodCidr(cidrs: string | readonly string[]): void;
  close(): void;
}

export const defaultIfName = "eth0";
const notReady = "NetworkPluginNotReady";

export class CniManager implements NetworkPlugin {
  private configs: LoadedConfigs;
  private podCidrs: string[] = [];
  private statusError: string | undefined;
  private statusRun = 0;
  private lastEmitted: string;
  private readonly listeners = new Set<ReadinessListener>();
  private readonly watcher: ConfWatcher | undefined;
  private readonly statusTimer: NodeJS.Timeout | undefined;
  private readonly cache: ResultCache;
  private readonly exec: ExecOptions;
  private readonly log: Logger;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CniOptions) {
    this.log = (options.log ?? silentLogger).child({ component: "cni" });
    this.cache = new ResultCache(options.cacheDir);
    this.exec = { binDirs: options.binDirs, timeoutMs: options.timeoutMs ?? 60_000 };
    this.configs = this.load();
    this.lastEmitted = JSON.stringify(this.readiness());
    if (options.watch ?? true) {
      this.watcher = new ConfWatcher(options.confDir, () => this.reload(), {
        ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      });
    }
    const every = options.statusIntervalMs ?? 15_000;
    if (every > 0) {
      this.statusTimer = setInterval(() => void this.refreshStatus(), every);
      this.statusTimer.unref();
    }
    void this.refreshStatus();
  }

  /** Re-reads the conf dir (the watcher calls this; tests and SIGHUP may too). */
  reload(): void {
    this.configs = this.load();
    this.emitIfChanged();
    void this.refreshStatus();
  }

  /** The valid networks, default first, with the pod CIDR substituted. */
  networks(): NetworkConfigList[] {
    return this.configs.networks.map((n) => withPodCidr(n, this.podCidrs));
  }

  defaultNetwork(): NetworkConfigList | undefined {
    return this.networks()[0];
  }

  readiness(): NetworkReadiness {
    const { dir, dirExists, networks, problems } = this.configs;
    const problemText = problems.map((p) => p.message).join("; ");
    const network = networks[0];
    if (network === undefined) {
      const why = !dirExists
        ? `${dir} does not exist`
        : problems.length > 0
          ? `no valid network configuration in ${dir}: ${problemText}`
          : `no network configuration in ${dir}`;
      return { ready: false, reason: notReady, message: `cni config uninitialized: ${why}` };
    }
    if (usesPodCidr(network) && this.podCidrs.length === 0) {
      return {
        ready: false,
        reason: notReady,
        message: `network ${network.name} (${network.file}) takes its subnet from the pod CIDR, which is not set yet`,
      };
    }
    const missing = [...new Set(network.plugins.map((p) => p.type))].filter(
      (t) => findPlugin(t, this.options.binDirs) === undefined,
    );
    if (missing.length > 0) {
      return {
        ready: false,
        reason: notReady,
        message: `network ${network.name} (${network.file}): plugin ${missing.join(", ")} not found in ${this.options.binDirs.join(", ")}`,
      };
    }
    if (this.statusError !== undefined) {
      return { ready: false, reason: notReady, message: this.statusError };
    }
    return { ready: true, reason: "", message: "" };
  }

  onReadinessChange(listener: ReadinessListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setPodCidr(cidrs: string | readonly string[]): void {
    const list = (typeof cidrs === "string" ? cidrs.split(",") : [...cidrs])
      .map((c) => c.trim())
      .filter((c) => c !== "");
    for (const c of list) {
      if (!/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(c))
        throw invalidArgument(`pod CIDR "${c}" is not a CIDR`);
    }
    this.podCidrs = list;
    this.log.info({ podCidrs: list }, "pod CIDR set");
    this.emitIfChanged();
    void this.refreshStatus();
  }

  /** Runs STATUS (CNI 1.1) on the default network and updates readiness. */
  async refreshStatus(): Promise<void> {
    const run = ++this.statusRun;
    const network = this.defaultNetwork();
    let error: string | undefined;
    if (network !== undefined && hasStatus(network.cniVersion)) {
      try {
        await statusList(network, this.exec);
      } catch (err) {
        error = (err as Error).message;
      }
    }
    if (run !== this.statusRun) return;
    this.statusError = error;
    this.emitIfChanged();
  }

  async setUp(req: SetUpRequest): Promise<PodNetworkAttachment> {
    const ifName = req.ifName ?? defaultIfName;
    validateIds(req.containerId, ifName, req.pod);
    if (req.netns === "") throw invalidArgument("a network namespace path is required for ADD");
    return this.serialized(req.containerId, async () => {
      const network = this.resolve(req.network);
      if (usesPodCidr(network)) {
        throw failedPrecondition(
          `network ${network.name} needs the pod CIDR, which is not set yet`,
        );
      }
      const existing = this.cache.read(network.name, req.containerId, ifName);
      if (existing?.result !== undefined && existing.netns === req.netns) {
        return attachmentOf(existing, existing.result);
      }
      if (existing !== undefined) await this.delEntry(existing, undefined);

      const entry: CachedAttachment = {
        kind: cacheKind,
        network: network.name,
        containerId: req.containerId,
        ifName,
        netns: req.netns,
        args: cniArgs(req.pod),
        capabilityArgs: this.capabilityArgs(req.capabilityArgs),
        config: network,
        createdAt: new Date().toISOString(),
      };
      this.cache.write(entry);
      let result: CniResult;
      try {
        result = await addList(network, paramsOf(entry, entry.netns), this.exec);
      } catch (err) {
        this.log.warn(
          { err, containerId: req.containerId, network: network.name },
          "CNI ADD failed; undoing",
        );
        try {
          await this.delEntry(entry, undefined);
        } catch (undoErr) {
          this.log.error(
            { err: undoErr, containerId: req.containerId, network: network.name },
            "CNI DEL after a failed ADD failed; the cache entry stays for a later tearDown",
          );
        }
        throw err;
      }
      entry.result = result;
      this.cache.write(entry);
      this.log.debug(
        { containerId: req.containerId, network: network.name, ips: podIps(result, ifName) },
        "CNI ADD",
      );
      return attachmentOf(entry, result);
    });
  }

  async check(req: {
    containerId: string;
    netns?: string;
    ifName?: string;
    network?: string;
  }): Promise<void> {
    const ifName = req.ifName ?? defaultIfName;
    validateIds(req.containerId, ifName, undefined);
    await this.serialized(req.containerId, async () => {
      const name = req.network ?? this.resolve(undefined).name;
      const entry = this.cache.read(name, req.containerId, ifName);
      if (entry?.result === undefined) {
        throw failedPrecondition(`container ${req.containerId} is not attached to network ${name}`);
      }
      await checkList(
        entry.config,
        paramsOf(entry, req.netns ?? entry.netns),
        entry.result,
        this.exec,
      );
    });
  }

  async tearDown(req: TearDownRequest): Promise<void> {
    validateIds(req.containerId, req.ifName ?? defaultIfName, req.pod);
    await this.serialized(req.containerId, async () => {
      const entries = this.cache
        .list(req.containerId)
        .filter(
          (e) =>
            (req.network === undefined || e.network === req.network) &&
            (req.ifName === undefined || e.ifName === req.ifName),
        );
      if (entries.length === 0) {
        const network =
          req.network === undefined
            ? this.defaultNetwork()
            : this.networks().find((n) => n.name === req.network);
        if (network === undefined) {
          this.log.debug(
            { containerId: req.containerId },
            "CNI DEL: nothing cached and no network",
          );
          return;
        }
        const entry: CachedAttachment = {
          kind: cacheKind,
          network: network.name,
          containerId: req.containerId,
          ifName: req.ifName ?? defaultIfName,
          netns: req.netns ?? "",
          args: cniArgs(req.pod),
          capabilityArgs: this.capabilityArgs(req.capabilityArgs),
          config: network,
          createdAt: new Date().toISOString(),
        };
        await this.delEntry(entry, req.netns);
        return;
      }
      for (const entry of entries) await this.delEntry(entry, req.netns);
    });
  }

  attachments(containerId?: string): PodNetworkAttachment[] {
    return this.cache
      .list(containerId)
      .filter((e) => e.result !== undefined)
      .map((e) => attachmentOf(e, e.result as CniResult));
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.statusTimer);
    this.listeners.clear();
  }

  private async delEntry(entry: CachedAttachment, netns: string | undefined): Promise<void> {
    const path = netns ?? entry.netns;
    const present = path !== "" && existsSync(path) ? path : "";
    await delList(entry.config, paramsOf(entry, present), entry.result, this.exec);
    this.cache.remove(entry.network, entry.containerId, entry.ifName);
    this.log.debug({ containerId: entry.containerId, network: entry.network }, "CNI DEL");
  }

  private resolve(name: string | undefined): NetworkConfigList {
    const networks = this.networks();
    if (name === undefined) {
      const first = networks[0];
      if (first === undefined) throw new SkiffError("FailedPrecondition", this.readiness().message);
      return first;
    }
    const found = networks.find((n) => n.name === name);
    if (found === undefined) {
      throw failedPrecondition(`no CNI network named ${name} in ${this.options.confDir}`);
    }
    return found;
  }

  private capabilityArgs(given: CapabilityArgs | undefined): CapabilityArgs {
    const args: CapabilityArgs = { ...(given ?? {}) };
    if (args.ipRanges === undefined && this.podCidrs.length > 0) {
      args.ipRanges = this.podCidrs.map((subnet) => [{ subnet }]);
    }
    return args;
  }

  private load(): LoadedConfigs {
    const loaded = loadConfigDir(this.options.confDir);
    for (const p of loaded.problems)
      this.log.warn({ file: p.file }, `CNI config refused: ${p.message}`);
    return loaded;
  }

  private emitIfChanged(): void {
    const now = this.readiness();
    const text = JSON.stringify(now);
    if (text === this.lastEmitted) return;
    this.lastEmitted = text;
    this.log.info(now, now.ready ? "pod network ready" : "pod network not ready");
    for (const l of this.listeners) {
      try {
        l(now);
      } catch (err) {
        this.log.error({ err }, "network readiness listener failed");
      }
    }
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

function paramsOf(entry: CachedAttachment, netns: string): AttachmentParams {
  return {
    containerId: entry.containerId,
    netns,
    ifName: entry.ifName,
    args: entry.args,
    capabilityArgs: entry.capabilityArgs,
  };
}

function attachmentOf(entry: CachedAttachment, result: CniResult): PodNetworkAttachment {
  return {
    network: entry.network,
    containerId: entry.containerId,
    ifName: entry.ifName,
    netns: entry.netns,
    ips: podIps(result, entry.ifName),
    result,
  };
}

/** The spec's rules for container ids and interface names. */
function validateIds(containerId: string, ifName: string, pod: PodIdentity | undefined): void {
  if (!namePattern.test(containerId)) {
    throw invalidArgument(`CNI container id "${containerId}" must be [A-Za-z0-9][A-Za-z0-9_.-]*`);
  }
  if (
    ifName === "" ||
    ifName === "." ||
    ifName === ".." ||
    ifName.length > 15 ||
    /[/:\s]/.test(ifName)
  ) {
    throw invalidArgument(`interface name "${ifName}" is not a valid Linux interface name`);
  }
  if (pod !== undefined) {
    for (const [k, v] of Object.entries(pod)) {
      if (typeof v !== "string" || !validArgValue(v)) {
        throw invalidArgument(`pod ${k} "${String(v)}" cannot be passed in CNI_ARGS`);
      }
    }
  }
}
