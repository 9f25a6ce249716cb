/**
 * RegistryClient: the OCI distribution API as Skiff's image service uses it.
 *
 *   resolve(ref)               tag or digest → the top manifest or index (verified bytes)
 *   resolveImage(ref)          … and the manifest for this node's platform
 *   fetchManifest(ref, dgst)   a manifest by digest (verified)
 *   fetchBlob(ref, desc)       a blob as a stream; resumes with Range after a broken
 *                              connection; verifies size and digest unless asked not to
 *   blobExists / pushBlob / mountBlob / pushManifest
 *
 * Endpoints (DESIGN.md "Registry configuration"): a registry's mirrors in order, then
 * the upstream. A mirror takes part in a fetch by tag only with capability `resolve`,
 * in a fetch by digest with `pull`, in a push with `push`. A mirror that fails to
 * answer (connection, timeout, 5xx) is skipped at once for the rest of that pull (the
 * PullSession) and marked down for 60 s (injectable clock), so a dead mirror costs at
 * most one connect or response timeout (2 s) per pull. A mirror answering an error
 * (404, 401...) is passed over without being marked down. Credentials go to the
 * upstream only. Errors carry the operation, the reference and the endpoint.
 */
import { Readable } from "node:stream";
import type { Logger } from "../log.js";
import { silentLogger } from "../log.js";
import { SkiffError } from "../errors.js";
import type { RegistryConfig, SkiffConfig } from "../config/schema.js";
import { Authorizer, readAll, readText, repositoryScope } from "./auth.js";
import {
  readDockerConfig,
  resolveCredentials,
  type AuthConfigInput,
  type Credentials,
  type DockerConfigFile,
} from "./credentials.js";
import { digestOf, hasherFor, sha256Digest } from "./digest.js";
import {
  manifestAccept,
  maxManifestBytes,
  nodePlatform,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type ParsedManifest,
  type Platform,
} from "./manifest.js";
import { formatReference, referenceObject, repositoryName, type Reference } from "./reference.js";
import { httpError } from "./registry-errors.js";
import {
  Transport,
  TransportError,
  backoffMs,
  defaultTimeouts,
  header,
  isLoopbackHost,
  type Endpoint,
  type Response,
  type Timeouts,
} from "./transport.js";

export const mirrorDownMs = 60_000;

export interface RegistryClientOptions {
  config: SkiffConfig;
  /** A docker-style config.json read for credentials (missing file: none). */
  dockerConfigPath?: string;
  /** Milliseconds clock for token expiry and mirror down-marking. */
  now?: () => number;
  /** Upstream timeouts (connect 2 s, response 30 s, idle body 30 s by default). */
  timeouts?: Partial<Timeouts>;
  /** Mirror timeouts (connect 2 s, response 2 s, idle body 30 s by default). */
  mirrorTimeouts?: Partial<Timeouts>;
  /** How often one blob download may resume after a broken connection. */
  maxResumes?: number;
  platform?: Platform;
  logger?: Logger;
}

/** State of one pull: the mirrors that already failed during it. */
export class PullSession {
  readonly skipped = new Set<string>();
}

export interface RequestOptions {
  /** Credentials of this request (the CRI AuthConfig shape); before config and config.json. */
  auth?: AuthConfigInput;
  session?: PullSession;
  signal?: AbortSignal;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  parsed: ParsedManifest;
  /** Label of the endpoint that served it. */
  source: string;
}

export interface ResolvedImage {
  /** What the reference names: an index or a manifest. */
  top: FetchedManifest;
  /** The image manifest for the platform (equal to top when top is a manifest). */
  manifest: FetchedManifest & { parsed: { kind: "manifest"; manifest: ImageManifest } };
  platform: Platform;
}

export interface BlobOptions extends RequestOptions {
  /** Start at this byte (the caller has the bytes before it). */
  offset?: number;
  /** Check size and digest at the end (default: when offset is 0). */
  verify?: boolean;
}

export interface PushBlobOptions extends RequestOptions {
  /** Upload in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number;
  /** Try a cross-repository mount from this repository path (same registry) first. */
  mountFrom?: string;
}

type Use = "resolve" | "pull" | "push";

interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  scopes: string[];
  followRedirects?: boolean;
}

export class RegistryClient {
  private config: SkiffConfig;
  private dockerConfig: DockerConfigFile | undefined;
  private readonly transport: Transport;
  private readonly authorizer: Authorizer;
  private readonly downUntil = new Map<string, number>();
  private readonly now: () => number;
  private readonly timeouts: Timeouts;
  private readonly mirrorTimeouts: Timeouts;
  private readonly maxResumes: number;
  private readonly platform: Platform;
  private readonly log: Logger;

  constructor(private readonly options: RegistryClientOptions) {
    this.config = options.config;
    this.now = options.now ?? Date.now;
    this.timeouts = { ...defaultTimeouts, ...options.timeouts };
    this.mirrorTimeouts = { ...defaultTimeouts, responseMs: 2000, ...options.mirrorTimeouts };
    this.maxResumes = options.maxResumes ?? 5;
    this.platform = options.platform ?? nodePlatform();
    this.log = options.logger ?? silentLogger;
    this.transport = new Transport(
      Math.min(this.timeouts.connectMs, this.mirrorTimeouts.connectMs),
    );
    this.authorizer = new Authorizer({
      transport: this.transport,
      timeouts: (endpoint) => (endpoint.mirror ? this.mirrorTimeouts : this.timeouts),
      now: this.now,
    });
    this.dockerConfig = options.dockerConfigPath
      ? readDockerConfig(options.dockerConfigPath)
      : undefined;
  }

  /** Applies a reloaded config (and re-reads config.json); connections are reopened. */
  setConfig(config: SkiffConfig): void {
    this.config = config;
    this.dockerConfig = this.options.dockerConfigPath
      ? readDockerConfig(this.options.dockerConfigPath)
      : undefined;
    this.transport.close();
    this.authorizer.reset();
    this.downUntil.clear();
  }

  close(): void {
    this.transport.close();
  }

  newSession(): PullSession {
    return new PullSession();
  }

  /** Token endpoint requests made so far (observability and tests). */
  get tokenRequests(): number {
    return this.authorizer.tokenRequests;
  }

  /** The tag or digest of `ref` → the manifest or index it names. */
  resolve(ref: Reference, options: RequestOptions = {}): Promise<FetchedManifest> {
    return this.fetchManifest(ref, referenceObject(ref), options);
  }

  /** resolve(), then the manifest for this node's platform when it is an index. */
  async resolveImage(
    ref: Reference,
    options: RequestOptions & { platform?: Platform } = {},
  ): Promise<ResolvedImage> {
    const session = options.session ?? this.newSession();
    const opts = { ...options, session };
    const platform = options.platform ?? this.platform;
    const top = await this.resolve(ref, opts);
    let current = top;
    for (let depth = 0; current.parsed.kind === "index"; depth++) {
      if (depth >= 2) {
        throw new SkiffError(
          "FailedPrecondition",
          `pull ${formatReference(ref)}: indexes nested too deep`,
        );
      }
      const chosen = selectPlatform(current.parsed.index, platform, `pull ${formatReference(ref)}`);
      current = await this.fetchManifest(ref, chosen.digest, opts);
    }
    return { top, manifest: current as ResolvedImage["manifest"], platform };
  }

  /** A manifest or index by tag or digest; bytes verified against the digest asked for. */
  async fetchManifest(
    ref: Reference,
    object: string,
    options: RequestOptions = {},
  ): Promise<FetchedManifest> {
    const byDigest = object.includes(":");
    const op = `pull ${repositoryName(ref)}${byDigest ? "@" : ":"}${object}`;
    return this.overEndpoints(
      ref.domain,
      byDigest ? "pull" : "resolve",
      op,
      options,
      async (endpoint) => {
        const response = await this.call(endpoint, ref, op, options, {
          method: "GET",
          path: `/v2/${ref.path}/manifests/${object}`,
          headers: { Accept: manifestAccept },
          scopes: [repositoryScope(ref.path, ["pull"])],
          followRedirects: true,
        });
        if (response.status !== 200) throw await this.fail(op, response, endpoint);
        let bytes: Buffer;
        try {
          bytes = await readAll(response.body, maxManifestBytes);
        } catch (err) {
          throw this.bodyError(op, endpoint, err);
        }
        const computed = byDigest ? digestOf(object, bytes) : sha256Digest(bytes);
        if (byDigest && computed !== object) {
          throw new SkiffError(
            "DataLoss",
            `${op}: ${endpoint.label} sent a manifest whose digest is ${computed}, not ${object}`,
          );
        }
        const parsed = parseManifest(bytes, header(response.headers["content-type"]), op);
        return {
          digest: byDigest ? object : computed,
          mediaType: parsed.mediaType,
          size: bytes.length,
          bytes,
          parsed,
          source: endpoint.label,
        };
      },
    );
  }

  /** A whole small blob (an image config) in memory, verified. */
  async fetchBlobBytes(
    ref: Reference,
    desc: Descriptor,
    options: RequestOptions = {},
  ): Promise<Buffer> {
    const stream = await this.fetchBlob(ref, desc, options);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * A blob's bytes from `offset` as a stream. The promise rejects when no endpoint
   * serves it (NotFound, Unauthenticated, Unavailable...); afterwards a broken
   * connection is resumed with a Range request from the byte reached, and the stream
   * fails with DataLoss when size or digest do not match.
   */
  async fetchBlob(ref: Reference, desc: Descriptor, options: BlobOptions = {}): Promise<Readable> {
    const op = `pull blob ${desc.digest} of ${repositoryName(ref)}`;
    const start = options.offset ?? 0;
    const verify = options.verify ?? start === 0;
    if (start > desc.size)
      throw new SkiffError(
        "InvalidArgument",
        `${op}: offset ${start} is past the size ${desc.size}`,
      );
    const hash = verify ? hasherFor(desc.digest) : undefined;
    const open = async (endpoint: Endpoint, from: number): Promise<Response> => {
      const response = await this.call(endpoint, ref, op, options, {
        method: "GET",
        path: `/v2/${ref.path}/blobs/${desc.digest}`,
        headers: from > 0 ? { Range: `bytes=${from}-` } : {},
        scopes: [repositoryScope(ref.path, ["pull"])],
        followRedirects: true,
      });
      if (response.status !== 200 && response.status !== 206)
        throw await this.fail(op, response, endpoint);
      return response;
    };
    const first = await this.overEndpoints(ref.domain, "pull", op, options, async (endpoint) => ({
      endpoint,
      response: await open(endpoint, start),
    }));
    const { endpoint } = first;
    const maxResumes = this.maxResumes;
    const log = this.log;

    async function* body(): AsyncGenerator<Buffer> {
      let response: Response | undefined = first.response;
      let reached = start;
      let resumes = 0;
      try {
        for (;;) {
          try {
            if (response === undefined) response = await open(endpoint, reached);
            let skip = skipFor(response, reached, op, endpoint);
            for await (const raw of response.body) {
              let chunk = raw as Buffer;
              if (skip > 0) {
                const dropped = Math.min(skip, chunk.length);
                skip -= dropped;
                chunk = chunk.subarray(dropped);
                if (chunk.length === 0) continue;
              }
              reached += chunk.length;
              if (reached > desc.size) {
                throw new SkiffError(
                  "DataLoss",
                  `${op}: ${endpoint.label} sent more than the ${desc.size} bytes expected`,
                );
              }
              hash?.update(chunk);
              yield chunk;
            }
            if (reached === desc.size) break;
            throw Object.assign(new Error(`body ended at byte ${reached} of ${desc.size}`), {
              code: "ETRUNCATED",
            });
          } catch (err) {
            response?.body.destroy();
            response = undefined;
            if (err instanceof SkiffError && err.kind !== "Unavailable") throw err;
            if (resumes >= maxResumes) {
              throw new SkiffError(
                "Unavailable",
                `${op}: ${endpoint.label}: download broke ${resumes + 1} times, last at byte ${reached}: ${(err as Error).message}`,
                { cause: err },
              );
            }
            resumes++;
            log.warn(
              {
                digest: desc.digest,
                endpoint: endpoint.label,
                reached,
                err: (err as Error).message,
              },
              "blob download broke; resuming",
            );
            await new Promise((resolve) => setTimeout(resolve, backoffMs(resumes)));
          }
        }
      } finally {
        // A consumer that stops early must not leave the connection streaming.
        response?.body.destroy();
      }
      if (hash !== undefined) {
        const got = `${desc.digest.slice(0, desc.digest.indexOf(":"))}:${hash.digest("hex")}`;
        if (got !== desc.digest) {
          throw new SkiffError(
            "DataLoss",
            `${op}: ${endpoint.label} sent bytes whose digest is ${got}`,
          );
        }
      }
    }
    return Readable.from(body(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  async blobExists(ref: Reference, digest: string, options: RequestOptions = {}): Promise<boolean> {
    const op = `check blob ${digest} in ${repositoryName(ref)}`;
    return this.overEndpoints(ref.domain, "push", op, options, async (endpoint) => {
      const response = await this.call(endpoint, ref, op, options, {
        method: "HEAD",
        path: `/v2/${ref.path}/blobs/${digest}`,
        scopes: [repositoryScope(ref.path, ["pull", "push"])],
        followRedirects: true,
      });
      response.body.resume();
      if (response.status === 200) return true;
      if (response.status === 404) return false;
      throw await this.fail(op, response, endpoint);
    });
  }

  /**
   * Uploads a blob unless the repository has it: one POST and one PUT ?digest=, or
   * with chunkSize, PATCHes with Content-Range then an empty PUT ?digest=.
   * `content` is the bytes, or a factory of a fresh stream (so a retry can restart).
   * With `mountFrom`, a cross-repository mount is tried first and its answer's upload
   * session used when the registry declines.
   */
  async pushBlob(
    ref: Reference,
    desc: Descriptor,
    content: Buffer | (() => Readable),
    options: PushBlobOptions = {},
  ): Promise<"exists" | "uploaded" | "mounted"> {
    if (await this.blobExists(ref, desc.digest, options)) return "exists";
    const op = `push blob ${desc.digest} to ${repositoryName(ref)}`;
    const scopes = [repositoryScope(ref.path, ["pull", "push"])];
    return this.overEndpoints<"uploaded" | "mounted">(
      ref.domain,
      "push",
      op,
      options,
      async (endpoint) => {
        const started = await this.startUpload(
          endpoint,
          ref,
          op,
          options,
          desc.digest,
          options.mountFrom,
        );
        if (started === "mounted") return "mounted";
        let location = started;
        const chunkSize = options.chunkSize;
        if (chunkSize === undefined) {
          const put = await this.call(endpoint, ref, op, options, {
            method: "PUT",
            path: withDigest(location, desc.digest),
            headers: {
              "Content-Type": "application/octet-stream",
              "Content-Length": String(desc.size),
            },
            body: content,
            scopes,
          });
          if (put.status !== 201) throw await this.fail(op, put, endpoint);
          put.body.resume();
          return "uploaded";
        }
        let offset = 0;
        const source = Buffer.isBuffer(content) ? [content] : content();
        for await (const chunk of rechunk(source, chunkSize)) {
          const patch = await this.call(endpoint, ref, op, options, {
            method: "PATCH",
            path: location.toString(),
            headers: {
              "Content-Type": "application/octet-stream",
              "Content-Range": `${offset}-${offset + chunk.length - 1}`,
              "Content-Length": String(chunk.length),
            },
            body: chunk,
            scopes,
          });
          if (patch.status !== 202) throw await this.fail(op, patch, endpoint);
          patch.body.resume();
          offset += chunk.length;
          location = nextLocation(patch, location, op, endpoint);
        }
        if (offset !== desc.size) {
          throw new SkiffError(
            "InvalidArgument",
            `${op}: the content has ${offset} bytes, the descriptor says ${desc.size}`,
          );
        }
        const put = await this.call(endpoint, ref, op, options, {
          method: "PUT",
          path: withDigest(location, desc.digest),
          headers: { "Content-Length": "0" },
          body: Buffer.alloc(0),
          scopes,
        });
        if (put.status !== 201) throw await this.fail(op, put, endpoint);
        put.body.resume();
        return "uploaded";
      },
    );
  }

  /**
   * Cross-repository mount: asks the registry to link `desc` from repository `fromPath`
   * (same registry) into `ref`'s repository. True when mounted; false when the registry
   * would rather have an upload (the upload session it opened then expires unused;
   * pushBlob with `mountFrom` uses that session instead).
   */
  async mountBlob(
    ref: Reference,
    fromPath: string,
    desc: Descriptor,
    options: RequestOptions = {},
  ): Promise<boolean> {
    const op = `mount blob ${desc.digest} from ${fromPath} into ${repositoryName(ref)}`;
    return this.overEndpoints(ref.domain, "push", op, options, async (endpoint) => {
      const started = await this.startUpload(endpoint, ref, op, options, desc.digest, fromPath);
      return started === "mounted";
    });
  }

  /** PUTs a manifest or index under `ref`'s tag (or its digest); returns its digest. */
  async pushManifest(
    ref: Reference,
    bytes: Buffer,
    mediaType: string,
    options: RequestOptions = {},
  ): Promise<string> {
    const digest = sha256Digest(bytes);
    const object = ref.tag ?? ref.digest ?? digest;
    if (ref.digest !== undefined && ref.tag === undefined && ref.digest !== digest) {
      throw new SkiffError(
        "InvalidArgument",
        `push ${formatReference(ref)}: the manifest's digest is ${digest}`,
      );
    }
    const op = `push manifest ${repositoryName(ref)}:${object}`;
    return this.overEndpoints(ref.domain, "push", op, options, async (endpoint) => {
      const response = await this.call(endpoint, ref, op, options, {
        method: "PUT",
        path: `/v2/${ref.path}/manifests/${object}`,
        headers: { "Content-Type": mediaType },
        body: bytes,
        scopes: [repositoryScope(ref.path, ["pull", "push"])],
      });
      if (response.status !== 201 && response.status !== 200)
        throw await this.fail(op, response, endpoint);
      response.body.resume();
      return digest;
    });
  }

  /** The endpoints for `host` and `use`, in order, without mirrors that are down. */
  endpoints(host: string, use: Use, session?: PullSession): Endpoint[] {
    const registry: RegistryConfig | undefined = this.config.registries[host];
    const out: Endpoint[] = [];
    const now = this.now();
    for (const mirror of registry?.mirrors ?? []) {
      if (!mirror.capabilities.includes(use)) continue;
      const key = `mirror ${mirror.url}`;
      if (session?.skipped.has(key)) continue;
      if ((this.downUntil.get(key) ?? 0) > now) continue;
      const tls = {
        insecureSkipVerify: mirror.insecureSkipVerify,
        ...(mirror.ca ? { ca: mirror.ca } : {}),
      };
      const base = new URL(mirror.url);
      out.push({
        key,
        label: `mirror ${mirror.url}`,
        base,
        host: base.host,
        allowHttp: false,
        tls,
        mirror: true,
      });
    }
    const insecure = registry?.insecure ?? false;
    const tls = {
      insecureSkipVerify: insecure,
      ...(registry?.ca ? { ca: registry.ca } : {}),
      ...(registry?.clientCert ? { clientCert: registry.clientCert } : {}),
      ...(registry?.clientKey ? { clientKey: registry.clientKey } : {}),
    };
    const upstream: Endpoint = {
      key: `registry ${host}`,
      label: `registry ${host}`,
      host: host === "docker.io" ? "registry-1.docker.io" : host,
      allowHttp: insecure || isLoopbackHost(host),
      tls,
      mirror: false,
    };
    out.push(upstream);
    return out;
  }

  private credentials(host: string, auth: AuthConfigInput | undefined): Credentials | undefined {
    const sources: Parameters<typeof resolveCredentials>[0] = { host };
    if (auth !== undefined) sources.request = auth;
    const configured = this.config.registries[host]?.auth;
    if (configured !== undefined) sources.config = configured;
    if (this.dockerConfig !== undefined) sources.dockerConfig = this.dockerConfig;
    return resolveCredentials(sources);
  }

  private async overEndpoints<T>(
    host: string,
    use: Use,
    op: string,
    options: RequestOptions,
    attempt: (endpoint: Endpoint) => Promise<T>,
  ): Promise<T> {
    const session = options.session;
    const endpoints = this.endpoints(host, use, session);
    for (const endpoint of endpoints) {
      if (!endpoint.mirror) return attempt(endpoint);
      try {
        return await attempt(endpoint);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const down = err instanceof SkiffError && err.kind === "Unavailable";
        if (down) {
          session?.skipped.add(endpoint.key);
          this.downUntil.set(endpoint.key, this.now() + mirrorDownMs);
        }
        this.log.warn(
          { op, mirror: endpoint.label, markedDown: down, err: (err as Error).message },
          "mirror failed; trying the next endpoint",
        );
      }
    }
    throw new SkiffError("Internal", `${op}: no endpoint`);
  }

  /** One authenticated request: anonymous or cached auth first, then the challenge answered once. */
  private async call(
    endpoint: Endpoint,
    ref: Reference,
    op: string,
    options: RequestOptions,
    call: Call,
  ): Promise<Response> {
    const creds = endpoint.mirror ? undefined : this.credentials(ref.domain, options.auth);
    const timeouts = endpoint.mirror ? this.mirrorTimeouts : this.timeouts;
    const send = async (authorization: string | undefined): Promise<Response> => {
      const headers = { ...call.headers };
      if (authorization !== undefined) headers.Authorization = authorization;
      try {
        return await this.transport.send(endpoint, {
          method: call.method,
          path: call.path,
          headers,
          body: call.body,
          timeouts,
          attempts: endpoint.mirror ? 1 : 3,
          followRedirects: call.followRedirects ?? false,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        if (err instanceof TransportError)
          throw new SkiffError("Unavailable", `${op}: ${err.message}`, { cause: err });
        throw err;
      }
    };
    let authorization: string | undefined;
    try {
      authorization = await this.authorizer.authorization(endpoint, call.scopes, creds);
    } catch (err) {
      throw prefix(op, err);
    }
    let response = await send(authorization);
    if (response.status !== 401) return response;
    response.body.resume();
    try {
      authorization = await this.authorizer.answer(
        endpoint,
        response.headers["www-authenticate"],
        call.scopes,
        creds,
        op,
      );
    } catch (err) {
      throw prefix(op, err);
    }
    response = await send(authorization);
    if (response.status === 401) {
      const text = await readText(response.body, 64 << 10).catch(() => "");
      const who =
        creds === undefined
          ? "anonymous access"
          : `the ${creds.kind === "basic" ? `credentials of user "${creds.username}"` : creds.kind}`;
      throw new SkiffError(
        "Unauthenticated",
        `${op}: ${endpoint.label} refused ${who}${text ? `: ${text.trim().slice(0, 200)}` : ""}`,
      );
    }
    return response;
  }

  private async fail(op: string, response: Response, endpoint: Endpoint): Promise<SkiffError> {
    const text = await readText(response.body, 64 << 10).catch(() => "");
    return httpError(op, response.status, endpoint, text);
  }

  private bodyError(op: string, endpoint: Endpoint, err: unknown): SkiffError {
    if (err instanceof SkiffError)
      return new SkiffError(err.kind, `${op}: ${endpoint.label}: ${err.message}`, { cause: err });
    return new SkiffError("Unavailable", `${op}: ${endpoint.label}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  /** POST an upload (or a mount); the upload URL, or "mounted". */
  private async startUpload(
    endpoint: Endpoint,
    ref: Reference,
    op: string,
    options: RequestOptions,
    digest?: string,
    mountFrom?: string,
  ): Promise<URL | "mounted"> {
    const scopes = [repositoryScope(ref.path, ["pull", "push"])];
    let query = "";
    if (mountFrom !== undefined && digest !== undefined) {
      scopes.push(repositoryScope(mountFrom, ["pull"]));
      query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`;
    }
    const response = await this.call(endpoint, ref, op, options, {
      method: "POST",
      path: `/v2/${ref.path}/blobs/uploads/${query}`,
      headers: { "Content-Length": "0" },
      body: Buffer.alloc(0),
      scopes,
    });
    response.body.resume();
    if (response.status === 201 && query !== "") return "mounted";
    if (response.status !== 202) throw await this.fail(op, response, endpoint);
    return nextLocation(response, response.url, op, endpoint);
  }
}

function prefix(op: string, err: unknown): unknown {
  if (err instanceof SkiffError && !err.message.startsWith(op)) {
    return new SkiffError(err.kind, `${op}: ${err.message}`, { cause: err });
  }
  return err;
}

/** Bytes to drop from a response that does not start at `reached` (a 200 to a Range request). */
function skipFor(response: Response, reached: number, op: string, endpoint: Endpoint): number {
  if (response.status === 200) return reached;
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(
    header(response.headers["content-range"]) ?? "",
  );
  if (range === null || Number(range[1]) !== reached) {
    throw new SkiffError(
      "DataLoss",
      `${op}: ${endpoint.label} answered a Range request from byte ${reached} with Content-Range "${String(header(response.headers["content-range"]))}"`,
    );
  }
  return 0;
}

function nextLocation(response: Response, base: URL, op: string, endpoint: Endpoint): URL {
  const location = header(response.headers.location);
  if (location === undefined) {
    throw new SkiffError("Unavailable", `${op}: ${endpoint.label} sent no upload Location`);
  }
  return new URL(location, base);
}

function withDigest(location: URL, digest: string): string {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  return url.toString();
}

/** Re-slices a byte source into chunks of exactly `size` bytes (the last may be shorter). */
async function* rechunk(
  source: Iterable<Buffer> | AsyncIterable<Buffer>,
  size: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let chunk = piece;
    while (chunk.length > 0) {
      const take = Math.min(size - pendingBytes, chunk.length);
      pending.push(chunk.subarray(0, take));
      pendingBytes += take;
      chunk = chunk.subarray(take);
      if (pendingBytes === size) {
        yield Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}
