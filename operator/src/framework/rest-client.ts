/**
 * KubeApi over HTTPS with @kubernetes/client-node: KubeConfig supplies the server, TLS
 * and credentials (kubeconfig file or in-cluster service account), its HTTP library
 * sends the requests, and its Watch streams watch events. Every request is counted in
 * skiff_operator_api_requests_total{verb,resource,code}.
 */
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  Watch,
} from "@kubernetes/client-node";
import {
  ApiError,
  isStatus,
  type DeleteOptions,
  type KubeApi,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type WatchEvent,
  type WatchOptions,
} from "./kube-api.js";
import type { OperatorMetrics } from "./metrics.js";
import { resourcePath, type ResourceType } from "./resource.js";

const patchContentTypes = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

/** Loads a KubeConfig: the file when given, else in-cluster, else the default places. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export class RestClient implements KubeApi {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly watcher: Watch;
  private readonly server: string;
  private dispatcher: ReturnType<RequestContext["getDispatcher"]>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly metrics?: OperatorMetrics,
    private readonly userAgent = "skiff-operator",
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.watcher = new Watch(kc);
    // client-node aborts a watch after 30 s without data; the server's timeoutSeconds
    // bounds our watches instead, so allow a little longer than that.
    (this.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 15 * 60_000;
  }

  private async request<T>(
    verb: string,
    method: HttpMethod,
    type: ResourceType,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
    body?: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; body: T }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method);
    ctx.setHeaderParam("Accept", "application/json");
    ctx.setHeaderParam("User-Agent", this.userAgent);
    if (body !== undefined) {
      ctx.setHeaderParam("Content-Type", contentType);
      ctx.setBody(JSON.stringify(body));
    }
    await this.kc.applySecurityAuthentication(ctx);
    // client-node builds a new undici Agent (a new TLS connection pool) on every call;
    // keep the first and reuse it, so requests share keep-alive connections.
    const dispatcher = ctx.getDispatcher();
    if (this.dispatcher === undefined) this.dispatcher = dispatcher;
    else if (dispatcher !== undefined) ctx.setDispatcher(this.dispatcher);
    let status = 0;
    try {
      const res = await this.http.send(ctx).toPromise();
      status = res.httpStatusCode;
      const text = await res.body.text();
      let parsed: unknown = undefined;
      if (text !== "") {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (status >= 400) {
        const s = isStatus(parsed) ? parsed : undefined;
        throw new ApiError(
          status,
          s?.reason ?? String(status),
          `${method} ${path}: ${s?.message ?? (typeof parsed === "string" ? parsed : status)}`,
        );
      }
      return { status, body: parsed as T };
    } finally {
      this.metrics?.apiRequests.inc({
        verb,
        resource: type.plural,
        code: status === 0 ? "error" : String(status),
      });
    }
  }

  async list<T extends KubeObject>(
    type: ResourceType,
    options: ListOptions = {},
  ): Promise<ObjectList<T>> {
    const { body } = await this.request<{
      items: T[];
      metadata: { resourceVersion: string; continue?: string };
    }>("list", HttpMethod.GET, type, resourcePath(type, options.namespace), {
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      limit: options.limit,
      continue: options.continue,
    });
    const apiVersion = type.group === "" ? type.version : `${type.group}/${type.version}`;
    for (const item of body.items) {
      item.apiVersion ??= apiVersion;
      item.kind ??= type.kind;
    }
    return {
      items: body.items,
      resourceVersion: body.metadata.resourceVersion,
      continue: body.metadata.continue || undefined,
    };
  }

  async watch(
    type: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onDone: (err?: unknown) => void,
  ): Promise<() => void> {
    this.metrics?.apiRequests.inc({ verb: "watch", resource: type.plural, code: "200" });
    const controller = await this.watcher.watch(
      resourcePath(type, options.namespace),
      {
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        timeoutSeconds: options.timeoutSeconds,
      },
      (phase: string, object: unknown) => onEvent({ type: phase, object } as WatchEvent),
      (err: unknown) => {
        const code = (err as { statusCode?: number } | null)?.statusCode;
        if (code !== undefined)
          onDone(new ApiError(code, String(code), `watch ${type.plural}: ${code}`));
        else onDone(err ?? undefined);
      },
    );
    return () => controller.abort();
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      const { body } = await this.request<T>(
        "get",
        HttpMethod.GET,
        type,
        resourcePath(type, namespace, name),
      );
      return body;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async create<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    const { body } = await this.request<T>(
      "create",
      HttpMethod.POST,
      type,
      resourcePath(type, object.metadata.namespace),
      {},
      object,
    );
    return body;
  }

  async replace<T extends KubeObject>(
    type: ResourceType,
    object: T,
    subresource?: "status",
  ): Promise<T> {
    const { body } = await this.request<T>(
      "update",
      HttpMethod.PUT,
      type,
      resourcePath(type, object.metadata.namespace, object.metadata.name, subresource),
      {},
      object,
    );
    return body;
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: PatchOptions,
  ): Promise<T> {
    const { body } = await this.request<T>(
      "patch",
      HttpMethod.PATCH,
      type,
      resourcePath(type, namespace, name, options.subresource),
      { fieldManager: options.fieldManager, force: options.force },
      patch,
      patchContentTypes[options.type],
    );
    return body;
  }

  async delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    options: DeleteOptions = {},
  ): Promise<boolean> {
    try {
      await this.request(
        "delete",
        HttpMethod.DELETE,
        type,
        resourcePath(type, namespace, name),
        {},
        { kind: "DeleteOptions", apiVersion: "v1", ...options },
      );
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
}
