/**
 * An informer: a local cache of one resource type kept current by list + watch.
 * - list (paginated) gives the objects and a resourceVersion; the watch resumes from it
 *   and every event moves it forward (bookmarks too);
 * - a watch the server closes is resumed from the last resourceVersion;
 * - an expired resourceVersion (410 Gone, as an ERROR event or an HTTP status) relists,
 *   and objects missing from the new list are reported deleted;
 * - other failures relist after an exponential backoff (capped at 30 s);
 * - every `resyncMs` each cached object is handed to onUpdate again (level-based
 *   controllers re-check everything periodically).
 * Handlers run synchronously and must only enqueue.
 */
import type { Logger } from "pino";
import { realClock, type Clock, type Timer } from "./clock.js";
import {
  ApiError,
  isGone,
  isStatus,
  type KubeApi,
  type KubeObject,
  type WatchEvent,
} from "./kube-api.js";
import type { OperatorMetrics } from "./metrics.js";
import type { ResourceType } from "./resource.js";

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(old: T, object: T): void;
  onDelete?(object: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** 0 disables resync. */
  resyncMs?: number;
  /** The server ends each watch after this long (randomised ±50% like client-go). */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  /**
   * Trims each object before it is cached (e.g. drop fields no controller reads); the
   * default drops metadata.managedFields and kubectl's last-applied annotation.
   */
  transform?: (o: KubeObject) => void;
  clock?: Clock;
  log: Logger;
  metrics?: OperatorMetrics;
}

export const cacheKey = (o: KubeObject): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion = "";
  private stopWatch: (() => void) | undefined;
  private resyncTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private stopped = true;
  private synced = false;
  private failures = 0;
  private syncWaiters: (() => void)[] = [];
  private generation = 0;
  private readonly clock: Clock;
  /** Counts of what happened, for tests and the metrics endpoint. */
  readonly stats = { lists: 0, watches: 0, expired: 0, events: 0 };

  constructor(
    private readonly api: KubeApi,
    readonly type: ResourceType,
    private readonly options: InformerOptions,
  ) {
    this.clock = options.clock ?? realClock;
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Starts and resolves once the first list is in the cache. */
  async start(): Promise<void> {
    if (!this.stopped) return this.waitForSync();
    this.stopped = false;
    this.scheduleResync();
    void this.relist();
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.resyncTimer?.cancel();
    this.retryTimer?.cancel();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Ends the current watch as a network failure would (tests). */
  breakWatch(): void {
    this.stopWatch?.();
  }

  private get log(): Logger {
    return this.options.log;
  }

  private scheduleResync(): void {
    const ms = this.options.resyncMs ?? 0;
    if (ms <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimer(ms, () => {
      for (const o of this.store.values()) for (const h of this.handlers) h.onUpdate?.(o, o);
      this.scheduleResync();
    });
  }

  private async relist(): Promise<void> {
    const gen = ++this.generation;
    this.stopWatch?.();
    this.stopWatch = undefined;
    try {
      this.stats.lists++;
      this.options.metrics?.informerRelists.inc({ resource: this.type.plural });
      const fresh = new Map<string, T>();
      let cont: string | undefined;
      let rv = "";
      do {
        const page = await this.api.list<T>(this.type, {
          namespace: this.options.namespace,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          limit: this.options.pageSize ?? 500,
          continue: cont,
        });
        for (const o of page.items) {
          this.trim(o);
          fresh.set(cacheKey(o), o);
        }
        cont = page.continue;
        rv = page.resourceVersion;
      } while (cont);
      if (gen !== this.generation) return;
      this.replace(fresh);
      this.resourceVersion = rv;
      this.failures = 0;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      await this.watch(gen);
    } catch (err) {
      if (gen !== this.generation || this.stopped) return;
      this.retry(err, "list");
    }
  }

  private retry(err: unknown, what: string): void {
    this.failures++;
    const delay = Math.min(30_000, 200 * 2 ** Math.min(this.failures - 1, 10));
    this.log.warn({ err: String(err), delayMs: delay }, `${this.type.plural} ${what} failed`);
    this.retryTimer = this.clock.setTimer(delay, () => void this.relist());
  }

  private replace(fresh: Map<string, T>): void {
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    for (const [key, o] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, o);
      for (const h of this.handlers) {
        if (!old) h.onAdd?.(o);
        else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) h.onUpdate?.(old, o);
      }
    }
  }

  private async watch(gen: number): Promise<void> {
    if (this.stopped || gen !== this.generation) return;
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.round(base * (0.5 + Math.random())));
    this.stats.watches++;
    let expired = false;
    try {
      this.stopWatch = await this.api.watch(
        this.type,
        {
          namespace: this.options.namespace,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          resourceVersion: this.resourceVersion,
          timeoutSeconds,
        },
        (event) => {
          if (gen !== this.generation) return;
          if (this.onEvent(event)) expired = true;
        },
        (err) => {
          if (gen !== this.generation || this.stopped) return;
          this.stopWatch = undefined;
          if (expired || isGone(err)) {
            this.stats.expired++;
            this.log.info(
              { resourceVersion: this.resourceVersion },
              `${this.type.plural} watch expired; relisting`,
            );
            void this.relist();
          } else if (err) {
            this.retry(err, "watch");
          } else {
            void this.watch(gen);
          }
        },
      );
      // An ERROR event can arrive before watch() returns the stop function.
      if (expired) this.stopWatch();
    } catch (err) {
      if (gen !== this.generation || this.stopped) return;
      if (isGone(err)) {
        this.stats.expired++;
        void this.relist();
      } else this.retry(err, "watch");
    }
  }

  private trim(o: KubeObject): void {
    delete o.metadata.managedFields;
    const annotations = o.metadata.annotations;
    if (annotations) delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
    this.options.transform?.(o);
  }

  /** Applies one event; returns true when the watch expired (410). */
  private onEvent(event: WatchEvent): boolean {
    this.stats.events++;
    this.options.metrics?.informerEvents.inc({ resource: this.type.plural, type: event.type });
    if (event.type === "ERROR") {
      const status = isStatus(event.object) ? event.object : undefined;
      if (status?.code === 410) return true;
      this.log.warn({ status }, `${this.type.plural} watch error`);
      this.stopWatch?.();
      return false;
    }
    const o = event.object as T;
    if (o.metadata?.resourceVersion) this.resourceVersion = o.metadata.resourceVersion;
    if (event.type === "BOOKMARK") return false;
    this.trim(o);
    if (o.apiVersion === undefined) o.apiVersion = apiVersionOf(this.type);
    if (o.kind === undefined) o.kind = this.type.kind;
    const key = cacheKey(o);
    const old = this.store.get(key);
    if (event.type === "DELETED") {
      this.store.delete(key);
      for (const h of this.handlers) h.onDelete?.(old ?? o);
      return false;
    }
    this.store.set(key, o);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, o);
      else h.onAdd?.(o);
    }
    return false;
  }
}

const apiVersionOf = (t: ResourceType) => (t.group === "" ? t.version : `${t.group}/${t.version}`);

export { ApiError };
