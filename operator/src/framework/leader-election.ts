/**
 * Lease-based leader election (coordination.k8s.io/v1 Lease), as client-go does it:
 * - the holder renews spec.renewTime every retryPeriod; a replica that cannot renew
 *   within renewDeadline stops leading (and the process should exit or pause);
 * - a candidate takes the lease when the holder is empty or when the record it last
 *   saw has not changed for leaseDuration, measured on the candidate's own clock
 *   (so clock skew between replicas does not matter);
 * - every write is a PUT with the resourceVersion read (optimistic concurrency), so two
 *   candidates cannot both win;
 * - on graceful stop the holder releases the lease (empty holder), so another replica
 *   takes over at its next retry instead of after leaseDuration.
 */
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { realClock, type Clock } from "./clock.js";
import { isConflict, isNotFound, type KubeApi, type KubeObject } from "./kube-api.js";
import type { OperatorMetrics } from "./metrics.js";
import { core } from "./resource.js";

export interface LeaderElectionOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  log: Logger;
  metrics?: OperatorMetrics;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

type Lease = V1Lease & KubeObject;

const microTime = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private observedRecord = "";
  private observedAt = 0;
  private lastRenew = 0;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? realClock;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops; a leader releases the lease first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      await this.release();
      this.setLeading(false);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tryAcquireOrRenew();
      } catch (err) {
        this.options.log.warn({ err: String(err) }, "lease update failed");
      }
      if (this.leading && this.clock.now() - this.lastRenew > this.renewDeadlineMs) {
        this.options.log.error("could not renew the lease in time; no longer the leader");
        this.setLeading(false);
      }
      await this.clock.sleep(this.retryPeriodMs, this.abort.signal);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.metrics?.leader.set(leading ? 1 : 0);
    if (leading) {
      this.options.log.info({ lease: this.options.name }, "became the leader");
      this.options.onStartedLeading();
    } else {
      this.options.log.info({ lease: this.options.name }, "stopped leading");
      this.options.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { api, namespace, name, identity } = this.options;
    const now = this.clock.now();
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    const lease = await api.get<Lease>(core.leases, name, namespace);
    if (!lease) {
      try {
        await api.create<Lease>(core.leases, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now) as unknown as Date,
            renewTime: microTime(now) as unknown as Date,
            leaseTransitions: 0,
          },
        });
        this.lastRenew = now;
        this.setLeading(true);
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err;
      }
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const record = `${holder}|${String(spec.renewTime ?? "")}|${spec.leaseTransitions ?? 0}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    if (holder !== identity) {
      if (this.leading) this.setLeading(false);
      const expired = holder === "" || now >= this.observedAt + this.leaseDurationMs;
      if (!expired) return;
    }
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now) as unknown as Date,
        ...(holder !== identity
          ? {
              acquireTime: microTime(now) as unknown as Date,
              leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
            }
          : {}),
      },
    };
    try {
      await api.replace<Lease>(core.leases, next);
      this.lastRenew = now;
      this.setLeading(true);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.options;
    try {
      const lease = await api.get<Lease>(core.leases, name, namespace);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      await api.replace<Lease>(core.leases, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: microTime(this.clock.now()) as unknown as Date,
        },
      });
      this.options.log.info("released the lease");
    } catch (err) {
      this.options.log.warn({ err: String(err) }, "could not release the lease");
    }
  }
}
