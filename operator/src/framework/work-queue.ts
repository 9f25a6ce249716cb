/**
 * A rate-limited work queue of object keys (kind/namespace/name), with client-go's
 * guarantees: a key is queued at most once however often it is added (dedupe), a key is
 * never handed to two workers at once (an add while it is processed queues it again
 * after `done`), and a failing key comes back after a per-key exponential backoff
 * (base·2^failures, capped) until `forget` resets it.
 *
 *   add ──► queued ──get──► processing ──done──► (dirty? queued : idle)
 *                ▲                    │add
 *                └── timer (addAfter / addRateLimited)
 */
import { realClock, type Clock, type Timer } from "./clock.js";
import type { OperatorMetrics } from "./metrics.js";

export interface WorkQueueOptions {
  name: string;
  clock?: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  metrics?: OperatorMetrics;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly waiting = new Map<string, { due: number; timer: Timer }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: WorkQueueOptions) {
    this.clock = options.clock ?? realClock;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    options.metrics?.queueDepth.collect(() => this.queue.length, { queue: options.name });
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.options.metrics?.queueAdds.inc({ queue: this.options.name });
    const getter = this.getters.shift();
    if (getter) {
      this.processing.add(key);
      getter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  /** Adds the key after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const due = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.due <= due) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(ms, () => {
      this.waiting.delete(key);
      this.add(key);
    });
    this.waiting.set(key, { due, timer });
  }

  /** Adds the key after its backoff, and counts a failure. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = this.backoff(failures);
    this.options.metrics?.queueRetries.inc({ queue: this.options.name });
    this.addAfter(key, delay);
    return delay;
  }

  backoff(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures - 1, 40));
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    // Shutting down: keys still queued are dropped (the next leader or start picks the
    // world up again; reconciles are level-based).
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.processing.size;
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }
}
