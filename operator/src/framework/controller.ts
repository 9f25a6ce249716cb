/**
 * The reconciler runner: informers enqueue keys, N workers take keys from the work
 * queue and call the reconciler, one key at a time per key. A reconcile that throws is
 * retried with the key's backoff; one that succeeds forgets the backoff and may ask to
 * be called again after a delay. Every log line carries the object's key.
 */
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { realClock } from "./clock.js";
import { objectKey, parseKey, type KubeObject, type ParsedKey } from "./kube-api.js";
import type { Informer } from "./informer.js";
import type { OperatorMetrics } from "./metrics.js";
import { WorkQueue } from "./work-queue.js";

export interface ReconcileResult {
  /** Reconcile this key again after this long (e.g. waiting for a missing Secret). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  /** Level-based and idempotent: look at the world, move it one step towards the spec. */
  reconcile(key: ParsedKey, log: Logger): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  name: string;
  /** The kind of the queue's keys. */
  kind: string;
  reconciler: Reconciler;
  log: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
  workers?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private running = false;
  private readonly clock: Clock;

  constructor(private readonly options: ControllerOptions) {
    this.clock = options.clock ?? realClock;
    this.queue = new WorkQueue({
      name: options.name,
      clock: this.clock,
      metrics: options.metrics,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
    });
  }

  enqueue(namespace: string | undefined, name: string): void {
    this.queue.add(objectKey(this.options.kind, namespace, name));
  }

  enqueueObject(o: KubeObject): void {
    this.enqueue(o.metadata.namespace, o.metadata.name);
  }

  /** Enqueues this controller's own objects on every informer event. */
  watchPrimary<T extends KubeObject>(informer: Informer<T>): void {
    informer.addHandlers({
      onAdd: (o) => this.enqueueObject(o),
      onUpdate: (_old, o) => this.enqueueObject(o),
      onDelete: (o) => this.enqueueObject(o),
    });
  }

  /** Enqueues the owner (found by `map`) of a secondary object on every event. */
  watchSecondary<T extends KubeObject>(
    informer: Informer<T>,
    map: (o: T) => { namespace?: string; name: string } | undefined,
  ): void {
    const enqueue = (o: T) => {
      const owner = map(o);
      if (owner) this.enqueue(owner.namespace, owner.name);
    };
    informer.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < (this.options.workers ?? 4); i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.shutdown();
    await Promise.all(this.workers.splice(0));
  }

  private async work(): Promise<void> {
    const { name, metrics, reconciler } = this.options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const parsed = parseKey(key);
      const log = this.options.log.child({
        controller: name,
        kind: parsed.kind,
        namespace: parsed.namespace,
        name: parsed.name,
      });
      const started = this.clock.now();
      try {
        const result = await reconciler.reconcile(parsed, log);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          metrics?.reconciles.inc({ controller: name, result: "requeue" });
        } else {
          metrics?.reconciles.inc({ controller: name, result: "success" });
        }
        log.debug({ ms: this.clock.now() - started }, "reconciled");
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        metrics?.reconciles.inc({ controller: name, result: "error" });
        metrics?.reconcileErrors.inc({ controller: name });
        log.warn(
          { err: err instanceof Error ? err.message : String(err), retryInMs: delay },
          "reconcile failed",
        );
      } finally {
        metrics?.reconcileDuration.observe((this.clock.now() - started) / 1000, {
          controller: name,
        });
        this.queue.done(key);
      }
    }
  }
}
