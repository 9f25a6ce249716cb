/**
 * An in-memory API server implementing KubeApi, for unit tests of pure logic (the
 * informer, leader election, finalizers): resourceVersions, generation, finalizers and
 * deletionTimestamp, the status subresource, merge and JSON patches, and watches that
 * replay history from a resourceVersion or fail with 410 Gone after `compact()`.
 * It records every request. Server-side apply is approximated by a merge patch.
 */
import { randomUUID } from "node:crypto";
import {
  ApiError,
  type DeleteOptions,
  type KubeApi,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type WatchEvent,
  type WatchOptions,
} from "./kube-api.js";
import { apiVersionOf, type ResourceType } from "./resource.js";

interface HistoryEntry {
  rv: number;
  type: ResourceType;
  event: WatchEvent;
}

interface Watcher {
  type: ResourceType;
  options: WatchOptions;
  onEvent(e: WatchEvent): void;
  onDone(err?: unknown): void;
}

const clone = <T>(o: T): T => structuredClone(o);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function jsonPatch(target: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const doc = clone(target) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop() ?? "";
    let parent: Record<string, unknown> | unknown[] = doc;
    for (const p of parts)
      parent = (parent as Record<string, unknown>)[p] as Record<string, unknown>;
    const get = () => (parent as Record<string, unknown>)[last];
    switch (op.op) {
      case "test":
        if (JSON.stringify(get() ?? null) !== JSON.stringify(op.value ?? null))
          throw new ApiError(422, "Invalid", `test failed at ${op.path}`);
        break;
      case "add":
        if (Array.isArray(parent)) {
          if (last === "-") parent.push(op.value);
          else parent.splice(Number(last), 0, op.value);
        } else parent[last] = op.value;
        break;
      case "replace":
        (parent as Record<string, unknown>)[last] = op.value;
        break;
      case "remove":
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      default:
        throw new ApiError(422, "Invalid", `unsupported op ${op.op}`);
    }
  }
  return doc;
}

export class FakeKube implements KubeApi {
  private rv = 100;
  private compactedBelow = 0;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  readonly requests: string[] = [];

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${apiVersionOf(type)}/${type.plural}/${type.namespaced ? (namespace ?? "") : ""}/${name}`;
  }

  private emit(type: ResourceType, event: WatchEvent): void {
    const rv = Number(event.object.metadata?.resourceVersion ?? this.rv);
    this.history.push({ rv, type, event: clone(event) });
    for (const w of this.watchers)
      if (
        w.type.plural === type.plural &&
        w.type.group === type.group &&
        this.matches(w.type, w.options, event.object)
      )
        w.onEvent(clone(event));
  }

  private matches(
    type: ResourceType,
    options: ListOptions,
    o: KubeObject | { metadata?: never },
  ): boolean {
    if (!o.metadata) return true;
    const obj = o as KubeObject;
    if (type.namespaced && options.namespace && obj.metadata.namespace !== options.namespace)
      return false;
    if (options.labelSelector) {
      for (const term of options.labelSelector.split(",")) {
        const [k = "", v] = term.split("=");
        const labels = obj.metadata.labels ?? {};
        if (v === undefined ? !(k in labels) : labels[k] !== v) return false;
      }
    }
    return true;
  }

  /** Forgets watch history: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
  }

  /** Ends every watch as the server does at timeoutSeconds. */
  closeWatches(err?: unknown): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.onDone(err);
    }
  }

  get watchCount(): number {
    return this.watchers.size;
  }

  async list<T extends KubeObject>(
    type: ResourceType,
    options: ListOptions = {},
  ): Promise<ObjectList<T>> {
    this.requests.push(`list ${type.plural}`);
    const prefix = `${apiVersionOf(type)}/${type.plural}/`;
    const items = [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && this.matches(type, options, o))
      .map(([, o]) => clone(o) as T);
    return { items, resourceVersion: String(this.rv) };
  }

  async watch(
    type: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onDone: (err?: unknown) => void,
  ): Promise<() => void> {
    this.requests.push(`watch ${type.plural} rv=${options.resourceVersion}`);
    const from = Number(options.resourceVersion);
    if (from < this.compactedBelow) {
      queueMicrotask(() => {
        onEvent({
          type: "ERROR",
          object: {
            kind: "Status",
            code: 410,
            reason: "Expired",
            message: "too old resource version",
          },
        });
        onDone();
      });
      return () => {};
    }
    const watcher: Watcher = { type, options, onEvent, onDone };
    for (const h of this.history) {
      if (
        h.rv > from &&
        h.type.plural === type.plural &&
        h.type.group === type.group &&
        this.matches(type, options, h.event.object)
      ) {
        onEvent(clone(h.event));
      }
    }
    this.watchers.add(watcher);
    return () => {
      if (this.watchers.delete(watcher)) onDone(new Error("aborted"));
    };
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    this.requests.push(`get ${type.plural} ${name}`);
    const o = this.objects.get(this.key(type, namespace, name));
    return o ? (clone(o) as T) : undefined;
  }

  async create<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    this.requests.push(`create ${type.plural} ${object.metadata.name}`);
    const o = clone(object);
    if (!o.metadata.name && o.metadata.generateName)
      o.metadata.name = o.metadata.generateName + randomUUID().slice(0, 5);
    const key = this.key(type, o.metadata.namespace, o.metadata.name);
    if (this.objects.has(key))
      throw new ApiError(409, "AlreadyExists", `${o.metadata.name} already exists`);
    o.apiVersion = apiVersionOf(type);
    o.kind = type.kind;
    o.metadata.uid = randomUUID();
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.generation = 1;
    o.metadata.creationTimestamp = new Date() as unknown as Date;
    this.objects.set(key, o);
    this.emit(type, { type: "ADDED", object: o });
    return clone(o);
  }

  private store<T extends KubeObject>(
    type: ResourceType,
    old: KubeObject,
    next: KubeObject,
    subresource?: string,
  ): T {
    const o = clone(next);
    if (subresource === "status") {
      const status = (o as { status?: unknown }).status;
      Object.assign(o, clone(old), { status });
    } else {
      (o as { status?: unknown }).status = (old as { status?: unknown }).status;
      o.metadata = {
        ...o.metadata,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
      };
      const spec = (x: KubeObject) => JSON.stringify((x as { spec?: unknown }).spec ?? null);
      o.metadata.generation = (old.metadata.generation ?? 1) + (spec(old) !== spec(o) ? 1 : 0);
      o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    }
    const key = this.key(type, old.metadata.namespace, old.metadata.name);
    if (old.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(key);
      o.metadata.resourceVersion = String(++this.rv);
      this.emit(type, { type: "DELETED", object: o });
      return clone(o) as T;
    }
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, o);
    this.emit(type, { type: "MODIFIED", object: o });
    return clone(o) as T;
  }

  async replace<T extends KubeObject>(
    type: ResourceType,
    object: T,
    subresource?: "status",
  ): Promise<T> {
    this.requests.push(`update ${type.plural} ${object.metadata.name}`);
    const old = this.objects.get(this.key(type, object.metadata.namespace, object.metadata.name));
    if (!old) throw new ApiError(404, "NotFound", `${object.metadata.name} not found`);
    if (
      object.metadata.resourceVersion &&
      object.metadata.resourceVersion !== old.metadata.resourceVersion
    )
      throw new ApiError(409, "Conflict", "the object has been modified");
    return this.store<T>(type, old, object, subresource);
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    this.requests.push(
      `patch ${type.plural} ${name}${options.subresource ? "/" + options.subresource : ""}`,
    );
    const old = this.objects.get(this.key(type, namespace, name));
    if (!old) throw new ApiError(404, "NotFound", `${name} not found`);
    const next =
      options.type === "json"
        ? jsonPatch(old, patch as { op: string; path: string }[])
        : mergePatch(old, patch);
    return this.store<T>(type, old, next as KubeObject, options.subresource);
  }

  async delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    _options?: DeleteOptions,
  ): Promise<boolean> {
    this.requests.push(`delete ${type.plural} ${name}`);
    const key = this.key(type, namespace, name);
    const old = this.objects.get(key);
    if (!old) return false;
    if ((old.metadata.finalizers ?? []).length > 0) {
      if (!old.metadata.deletionTimestamp) {
        const o = clone(old);
        o.metadata.deletionTimestamp = new Date() as unknown as Date;
        o.metadata.resourceVersion = String(++this.rv);
        this.objects.set(key, o);
        this.emit(type, { type: "MODIFIED", object: o });
      }
      return true;
    }
    this.objects.delete(key);
    const o = clone(old);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit(type, { type: "DELETED", object: o });
    return true;
  }
}
