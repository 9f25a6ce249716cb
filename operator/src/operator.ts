/**
 * The operator process: shared informers (warm on every replica), the three controllers,
 * Lease leader election (only the leader's controllers run), the metrics endpoint, and
 * graceful shutdown (stop taking work, finish reconciles in flight, release the lease).
 */
import type { V1Deployment, V1Job, V1Node, V1Pod, V1Service } from "@kubernetes/client-node";
import type { Server } from "node:http";
import type { Logger } from "pino";
import type { BuildJob } from "./apis/v1alpha1/build-job.js";
import { buildJobs, nodeSetups, registries } from "./apis/v1alpha1/crds.js";
import type { NodeSetup } from "./apis/v1alpha1/node-setup.js";
import type { Registry } from "./apis/v1alpha1/registry.js";
import { buildJobLabel } from "./controllers/build-job/job.js";
import { BuildJobReconciler } from "./controllers/build-job/reconciler.js";
import { NodeSetupReconciler } from "./controllers/node-setup/reconciler.js";
import { registryLabel } from "./controllers/registry/cache.js";
import { RegistryReconciler } from "./controllers/registry/reconciler.js";
import type { OperatorSettings } from "./controllers/settings.js";
import { realClock, type Clock } from "./framework/clock.js";
import { Controller } from "./framework/controller.js";
import { EventRecorder } from "./framework/events.js";
import { Informer } from "./framework/informer.js";
import type { KubeApi, KubeObject } from "./framework/kube-api.js";
import { LeaderElector } from "./framework/leader-election.js";
import { OperatorMetrics, serveMetrics } from "./framework/metrics.js";
import { core } from "./framework/resource.js";

export interface OperatorOptions {
  api: KubeApi;
  log: Logger;
  settings: OperatorSettings;
  metrics: OperatorMetrics;
  identity: string;
  leaderElection: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resyncMs: number;
  workers: number;
  metricsHost: string;
  metricsPort: number;
  /** Called when leadership is lost while running (the process should exit). */
  onLostLeadership?: () => void;
  clock?: Clock;
}

export class Operator {
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private server: Server | undefined;
  private stopping = false;
  private synced = false;

  constructor(private readonly o: OperatorOptions) {}

  private informer<T extends KubeObject>(
    type: typeof core.pods,
    extra: { namespace?: string; labelSelector?: string; transform?: (o: KubeObject) => void } = {},
  ): Informer<T> {
    const i = new Informer<T>(this.o.api, type, {
      ...extra,
      resyncMs: this.o.resyncMs,
      log: this.o.log.child({ informer: type.plural }),
      metrics: this.o.metrics,
      clock: this.o.clock,
    });
    this.informers.push(i as unknown as Informer<KubeObject>);
    return i;
  }

  async start(): Promise<void> {
    const { api, log, settings, metrics } = this.o;
    const clock = this.o.clock ?? realClock;
    const events = new EventRecorder(api, "skiff-operator", log, clock);
    const ns = settings.namespace;
    const regs = this.informer<Registry>(registries);
    const builds = this.informer<BuildJob>(buildJobs);
    const setups = this.informer<NodeSetup>(nodeSetups);
    const nodes = this.informer<V1Node & KubeObject>(core.nodes);
    const deployments = this.informer<V1Deployment & KubeObject>(core.deployments, {
      namespace: ns,
      labelSelector: registryLabel,
    });
    const services = this.informer<V1Service & KubeObject>(core.services, {
      namespace: ns,
      labelSelector: registryLabel,
    });
    // The build controller reads only metadata and status of Jobs and Pods: drop specs.
    const dropSpec = (o: KubeObject) => delete (o as { spec?: unknown }).spec;
    const jobs = this.informer<V1Job & KubeObject>(core.jobs, {
      labelSelector: buildJobLabel,
      transform: dropSpec,
    });
    const pods = this.informer<V1Pod & KubeObject>(core.pods, {
      labelSelector: buildJobLabel,
      transform: dropSpec,
    });
    const controller = (
      name: string,
      kind: string,
      reconciler: ConstructorParameters<typeof Controller>[0]["reconciler"],
    ) => {
      const c = new Controller({
        name,
        kind,
        reconciler,
        log,
        metrics,
        clock,
        workers: this.o.workers,
      });
      this.controllers.push(c);
      return c;
    };
    const registry = controller(
      "registry",
      "Registry",
      new RegistryReconciler({
        api,
        registries: regs,
        nodes,
        deployments,
        services,
        events,
        settings,
        clock,
      }),
    );
    const build = controller(
      "build-job",
      "BuildJob",
      new BuildJobReconciler({ api, buildJobs: builds, jobs, pods, events, settings, clock }),
    );
    const setup = controller(
      "node-setup",
      "NodeSetup",
      new NodeSetupReconciler({ api, nodeSetups: setups, nodes, events, clock }),
    );
    registry.watchPrimary(regs);
    build.watchPrimary(builds);
    setup.watchPrimary(setups);
    const byLabel = (label: string) => (o: KubeObject) => {
      const name = o.metadata.labels?.[label];
      return name ? { namespace: o.metadata.namespace, name } : undefined;
    };
    registry.watchSecondary(deployments, (o) =>
      byLabel(registryLabel)(o) ? { name: o.metadata.labels![registryLabel]! } : undefined,
    );
    registry.watchSecondary(services, (o) =>
      byLabel(registryLabel)(o) ? { name: o.metadata.labels![registryLabel]! } : undefined,
    );
    build.watchSecondary(jobs, byLabel(buildJobLabel));
    build.watchSecondary(pods, byLabel(buildJobLabel));
    // A node's arrival, departure or label change can change every selection.
    const allSelectors = () => {
      for (const r of regs.list()) registry.enqueueObject(r);
      for (const s of setups.list()) setup.enqueueObject(s);
    };
    nodes.addHandlers({
      onAdd: allSelectors,
      onDelete: allSelectors,
      onUpdate: (a, b) => {
        if (JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}))
          allSelectors();
      },
    });

    this.server = await serveMetrics(metrics.registry, this.o.metricsHost, this.o.metricsPort, {
      healthy: () => !this.stopping,
      ready: () => this.synced,
    });
    const address = this.server.address();
    log.info(
      {
        metrics:
          typeof address === "object" && address ? `${address.address}:${address.port}` : address,
      },
      "serving metrics",
    );

    await Promise.all(this.informers.map((i) => i.start()));
    this.synced = true;
    log.info({ informers: this.informers.length }, "caches synced");

    const startControllers = () => this.controllers.forEach((c) => c.start());
    if (!this.o.leaderElection) {
      startControllers();
      return;
    }
    this.elector = new LeaderElector({
      api,
      namespace: ns,
      name: "skiff-operator",
      identity: this.o.identity,
      leaseDurationMs: this.o.leaseDurationMs,
      renewDeadlineMs: this.o.renewDeadlineMs,
      retryPeriodMs: this.o.retryPeriodMs,
      clock,
      log,
      metrics,
      onStartedLeading: startControllers,
      onStoppedLeading: () => {
        void Promise.all(this.controllers.map((c) => c.stop()));
        if (!this.stopping) this.o.onLostLeadership?.();
      },
    });
    this.elector.start();
  }

  get metricsPort(): number {
    const a = this.server?.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.controllers.map((c) => c.stop()));
    await this.elector?.stop();
    for (const i of this.informers) i.stop();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    this.o.log.info("stopped");
  }
}
