/**
 * The node agent (`skiff-operator --node-agent`, one per node as a DaemonSet): watches
 * its own Node, the NodeSetups and the Registries, and for those whose nodeSelector picks
 * this node applies them on the host and reports its own entry in their status.nodes
 * (server-side apply with a field manager per node, so agents never overwrite each
 * other). Every step is idempotent and reported on its own; a failed step does not stop
 * the others. A Registry that no longer applies (deleted, deselected) has its drop-in
 * removed, skiff-cri reloaded, and the agent's status entry withdrawn.
 */
import type { V1Node, V1Secret } from "@kubernetes/client-node";
import { join } from "node:path";
import type { Logger } from "pino";
import { apiVersion } from "../apis/v1alpha1/common.js";
import { nodeSetups, registries } from "../apis/v1alpha1/crds.js";
import type { NodeSetup, NodeSetupNodeStatus } from "../apis/v1alpha1/node-setup.js";
import type { Registry, RegistryNodeStatus } from "../apis/v1alpha1/registry.js";
import { readClientCertificate, readCredentials } from "../controllers/registry/credentials.js";
import { canonical, omit, selects, timestamp } from "../controllers/settings.js";
import { realClock, type Clock } from "../framework/clock.js";
import { Controller, type ReconcileResult, type Reconciler } from "../framework/controller.js";
import { isDeleting } from "../framework/finalizers.js";
import { Informer } from "../framework/informer.js";
import type { KubeApi, KubeObject, ParsedKey } from "../framework/kube-api.js";
import type { OperatorMetrics } from "../framework/metrics.js";
import { core } from "../framework/resource.js";
import type { Host } from "./host.js";
import { probeMirror } from "./probe.js";
import { registryFinalizer } from "../controllers/registry/reconciler.js";
import { ownDropIns, removeRegistry, renderRegistry, writeRegistry } from "./registry-file.js";
import { reloadSkiffCri } from "./reload.js";
import { installSkiff } from "./steps/install.js";
import { applyKubelet } from "./steps/kubelet.js";
import { applyModules } from "./steps/modules.js";
import type { StepResult } from "./steps/step.js";
import { checkSwap } from "./steps/swap.js";
import { applySysctls } from "./steps/sysctls.js";

export interface AgentOptions {
  api: KubeApi;
  nodeName: string;
  host: Host;
  /** The operator's namespace (Registry credentials). */
  namespace: string;
  /** skiff-cri's socket as the agent sees it (default <host>/run/skiff/cri.sock). */
  criSocket?: string;
  /** Where the agent image carries the Skiff release to install. */
  installSource?: string;
  /** How often mirrors are probed again (and everything re-applied). */
  resyncMs: number;
  probeTimeoutMs?: number;
  log: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
}

export class NodeAgent implements Reconciler {
  private readonly regs: Informer<Registry>;
  private readonly setups: Informer<NodeSetup>;
  private readonly node: Informer<V1Node & KubeObject>;
  private readonly controller: Controller;
  private readonly clock: Clock;
  private readonly fieldManager: string;
  /** What this agent last reported per object, to write only on change. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly o: AgentOptions) {
    this.clock = o.clock ?? realClock;
    this.fieldManager = `skiff-node-agent-${o.nodeName}`.slice(0, 128);
    const informer = <T extends KubeObject>(
      type: typeof registries,
      extra: { fieldSelector?: string } = {},
    ) =>
      new Informer<T>(o.api, type, {
        ...extra,
        resyncMs: o.resyncMs,
        log: o.log.child({ informer: type.plural }),
        metrics: o.metrics,
        clock: this.clock,
      });
    this.regs = informer<Registry>(registries);
    this.setups = informer<NodeSetup>(nodeSetups);
    this.node = informer<V1Node & KubeObject>(core.nodes, {
      fieldSelector: `metadata.name=${o.nodeName}`,
    });
    this.controller = new Controller({
      name: "node-agent",
      kind: "Agent",
      reconciler: this,
      log: o.log,
      metrics: o.metrics,
      clock: this.clock,
      workers: 2,
    });
    const enqueue = (kind: string) => (x: KubeObject) =>
      this.controller.queue.add(`${kind}//${x.metadata.name}`);
    // Status writes (ours and the operator's) do not need the host touched again: only a
    // new generation, a deletion, the cache URL, or a resync (the same object) do.
    const matters = (a: Registry | NodeSetup, b: Registry | NodeSetup) =>
      a === b ||
      a.metadata.generation !== b.metadata.generation ||
      a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp ||
      (a as Registry).status?.cacheURL !== (b as Registry).status?.cacheURL;
    this.regs.addHandlers({
      onAdd: enqueue("Registry"),
      onUpdate: (a, b) => matters(a, b) && enqueue("Registry")(b),
      onDelete: enqueue("Registry"),
    });
    this.setups.addHandlers({
      onAdd: enqueue("NodeSetup"),
      onUpdate: (a, b) => matters(a, b) && enqueue("NodeSetup")(b),
      onDelete: enqueue("NodeSetup"),
    });
    const all = () => {
      for (const r of this.regs.list()) enqueue("Registry")(r);
      for (const s of this.setups.list()) enqueue("NodeSetup")(s);
    };
    this.node.addHandlers({
      onAdd: all,
      onUpdate: (a, b) => canonical(a.metadata.labels) !== canonical(b.metadata.labels) && all(),
      onDelete: all,
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.regs.start(), this.setups.start(), this.node.start()]);
    // Drop-ins of Registries that are gone (deleted while the agent was down).
    for (const name of ownDropIns(this.o.host)) this.controller.queue.add(`Registry//${name}`);
    this.controller.start();
    this.o.log.info({ node: this.o.nodeName }, "node agent started");
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    this.regs.stop();
    this.setups.stop();
    this.node.stop();
  }

  private labels(): Record<string, string> | undefined {
    return this.node.get(this.o.nodeName)?.metadata.labels;
  }

  private nodeExists(): boolean {
    return this.node.get(this.o.nodeName) !== undefined;
  }

  async reconcile(key: ParsedKey, log: Logger): Promise<ReconcileResult | void> {
    if (key.kind === "Registry") return this.reconcileRegistry(key.name, log);
    if (key.kind === "NodeSetup") return this.reconcileNodeSetup(key.name, log);
  }

  // ---- NodeSetup ----------------------------------------------------------------------

  private async reconcileNodeSetup(name: string, log: Logger): Promise<void> {
    const s = this.setups.get(name);
    if (!s || isDeleting(s) || !this.nodeExists() || !selects(s.spec.nodeSelector, this.labels())) {
      if (s && this.reported.has(`NodeSetup/${name}`))
        await this.withdraw(nodeSetups, "NodeSetup", name);
      return;
    }
    const steps = await this.applyNodeSetup(s);
    const entry: NodeSetupNodeStatus = {
      node: this.o.nodeName,
      observedGeneration: s.metadata.generation ?? 0,
      ready: steps.every((st) => st.outcome !== "Failed"),
      lastApplyTime: timestamp(this.clock.now()),
      steps,
    };
    const comparable = omit(entry, "lastApplyTime");
    const existing = s.status?.nodes?.find((n) => n.node === this.o.nodeName);
    const before = existing ? omit(existing, "lastApplyTime") : {};
    if (canonical(before) === canonical(comparable)) return;
    await this.report(nodeSetups, "NodeSetup", name, entry);
    const failedSteps = steps.filter((st) => st.outcome === "Failed");
    log.info(
      { steps: steps.length, failed: failedSteps.map((st) => st.name) },
      "node setup applied",
    );
  }

  /** Every step of a NodeSetup, in order; each reports on its own. */
  async applyNodeSetup(s: NodeSetup): Promise<StepResult[]> {
    const host = this.o.host;
    return [
      ...(await applyModules(host, s.spec.modules)),
      ...(await applySysctls(host, s.spec.sysctls)),
      await checkSwap(host, s.spec.swap.policy),
      ...(await installSkiff(host, s.spec, this.o.installSource)),
      await applyKubelet(host, s.spec),
    ];
  }

  // ---- Registry -----------------------------------------------------------------------

  private async reconcileRegistry(name: string, log: Logger): Promise<ReconcileResult | void> {
    const r = this.regs.get(name);
    const applies =
      r && !isDeleting(r) && this.nodeExists() && selects(r.spec.nodeSelector, this.labels());
    if (!applies) {
      if (removeRegistry(this.o.host, name)) {
        const reload = await reloadSkiffCri(this.socket());
        log.info({ reload: reload.message }, "registry drop-in removed");
      }
      const mine = r?.status?.nodes?.some((n) => n.node === this.o.nodeName);
      if (r && (mine || this.reported.has(`Registry/${name}`)))
        await this.withdraw(registries, "Registry", name);
      return;
    }
    const generation = r.metadata.generation ?? 0;
    const entry: RegistryNodeStatus = {
      node: this.o.nodeName,
      observedGeneration: generation,
      applied: false,
    };
    let auth;
    if (r.spec.credentials) {
      const secretName = r.spec.credentials.secretRef.name;
      const secret = await this.o.api.get<V1Secret & KubeObject>(
        core.secrets,
        secretName,
        this.o.namespace,
      );
      const creds = readCredentials(secret, this.o.namespace, secretName, r.spec.server);
      if (!creds.ok) {
        entry.message = creds.message;
        await this.reportRegistry(r, entry, log);
        return { requeueAfterMs: 5000 };
      }
      auth = creds.auth;
    }
    let client: { cert: string; key: string } | undefined;
    if (r.spec.clientCertificate) {
      const secretName = r.spec.clientCertificate.secretRef.name;
      const secret = await this.o.api.get<V1Secret & KubeObject>(
        core.secrets,
        secretName,
        this.o.namespace,
      );
      const cert = readClientCertificate(secret, this.o.namespace, secretName);
      if (!cert.ok) {
        entry.message = cert.message;
        await this.reportRegistry(r, entry, log);
        return { requeueAfterMs: 5000 };
      }
      client = { cert: cert.cert, key: cert.key };
    }
    const mirrors = [
      ...(r.spec.deploy && r.status?.cacheURL
        ? [{ url: r.status.cacheURL, insecureSkipVerify: false, capabilities: ["pull", "resolve"] }]
        : []),
      ...r.spec.mirrors,
    ];
    try {
      const rendered = renderRegistry(r, mirrors, auth, client);
      const changed = writeRegistry(this.o.host, rendered);
      if (changed) {
        const reload = await reloadSkiffCri(this.socket());
        if (!reload.reloaded && reload.error) entry.message = reload.message;
        log.info({ file: rendered.dropIn, reload: reload.message }, "registry drop-in written");
      }
      entry.applied = entry.message === undefined;
    } catch (err) {
      entry.message = `writing the drop-in: ${(err as Error).message}`;
    }
    const probes = await Promise.all(
      mirrors.map((m) => probeMirror(m.url, this.o.probeTimeoutMs ?? 2000)),
    );
    entry.mirrors = probes.map((p) => ({
      url: p.url,
      healthy: p.healthy,
      latencyMs: p.latencyMs,
      ...(p.message ? { message: p.message } : {}),
    }));
    entry.lastProbeTime = timestamp(this.clock.now());
    await this.reportRegistry(r, entry, log);
  }

  private async reportRegistry(r: Registry, entry: RegistryNodeStatus, log: Logger): Promise<void> {
    const existing = r.status?.nodes?.find((n) => n.node === this.o.nodeName);
    // Latency moves every probe: report when anything but it and the time changed, or
    // at least once per resync period (the probe is the resync's purpose).
    const strip = (e: Partial<RegistryNodeStatus> | undefined) =>
      canonical({
        ...e,
        lastProbeTime: undefined,
        mirrors: e?.mirrors?.map((m) => ({ ...m, latencyMs: undefined })),
      });
    const age = existing?.lastProbeTime
      ? this.clock.now() - new Date(existing.lastProbeTime).getTime()
      : Infinity;
    if (strip(existing) === strip(entry) && age < this.o.resyncMs / 2) return;
    await this.report(registries, "Registry", r.metadata.name, entry);
    log.debug({ applied: entry.applied }, "registry status reported");
  }

  private socket(): string {
    return this.o.criSocket ?? join(this.o.host.root, "run/skiff/cri.sock");
  }

  private async report(
    type: typeof registries,
    kind: string,
    name: string,
    entry: object,
  ): Promise<void> {
    await this.o.api.patch(
      type,
      name,
      undefined,
      { apiVersion, kind, metadata: { name }, status: { nodes: [entry] } },
      { type: "apply", subresource: "status", fieldManager: this.fieldManager, force: true },
    );
    this.reported.set(`${kind}/${name}`, "yes");
  }

  /** Withdraws this agent's status entry (apply with nothing: the manager's fields go). */
  private async withdraw(type: typeof registries, kind: string, name: string): Promise<void> {
    try {
      await this.o.api.patch(
        type,
        name,
        undefined,
        { apiVersion, kind, metadata: { name }, status: {} },
        {
          type: "apply",
          subresource: "status",
          fieldManager: this.fieldManager,
          force: true,
        },
      );
    } catch (err) {
      if (!(err as { status?: number }).status || (err as { status: number }).status !== 404)
        throw err;
    }
    this.reported.delete(`${kind}/${name}`);
  }
}

export { registryFinalizer };
