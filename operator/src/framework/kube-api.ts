/**
 * The seam between the framework and the API server: the few verbs controllers use, on
 * any resource type. rest-client.ts implements it with @kubernetes/client-node; unit tests
 * use fake-kube.ts, an in-memory API server with resourceVersions and watches.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { ResourceType } from "./resource.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta & { name: string };
}

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  timeoutSeconds?: number;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  /** The object, or for ERROR a metav1.Status. */
  object: KubeObject | StatusObject;
}

export interface StatusObject {
  kind: "Status";
  code?: number;
  reason?: string;
  message?: string;
  metadata?: never;
}

export type PatchType = "merge" | "json" | "apply";

export interface PatchOptions {
  type: PatchType;
  subresource?: "status";
  fieldManager?: string;
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface KubeApi {
  list<T extends KubeObject>(type: ResourceType, options?: ListOptions): Promise<ObjectList<T>>;
  /** Starts a watch; `onDone` runs once when it ends (error or server close). Returns stop. */
  watch(
    type: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onDone: (err?: unknown) => void,
  ): Promise<() => void>;
  /** undefined when the object does not exist. */
  get<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined>;
  create<T extends KubeObject>(type: ResourceType, object: T): Promise<T>;
  /** PUT: optimistic concurrency through metadata.resourceVersion. */
  replace<T extends KubeObject>(type: ResourceType, object: T, subresource?: "status"): Promise<T>;
  patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T>;
  /** false when the object was already gone. */
  delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    options?: DeleteOptions,
  ): Promise<boolean>;
}

/** An API error with the HTTP status and the Status reason (NotFound, Conflict, ...). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const isStatus = (o: unknown): o is StatusObject =>
  typeof o === "object" && o !== null && (o as { kind?: unknown }).kind === "Status";

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.status === 409;
export const isGone = (err: unknown): boolean => err instanceof ApiError && err.status === 410;

/** kind/namespace/name, the work queue's key. */
export const objectKey = (kind: string, namespace: string | undefined, name: string): string =>
  `${kind}/${namespace ?? ""}/${name}`;

export interface ParsedKey {
  kind: string;
  namespace?: string;
  name: string;
}

export function parseKey(key: string): ParsedKey {
  const [kind = "", namespace = "", ...rest] = key.split("/");
  return { kind, namespace: namespace === "" ? undefined : namespace, name: rest.join("/") };
}
