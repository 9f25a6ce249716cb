/**
 * HTTP(S) to registries and mirrors (node:http/https): one keep-alive Agent per
 * endpoint with that endpoint's TLS settings (system CAs plus its own CA file, client
 * certificate and key, or unverified TLS when configured insecure), a connect timeout
 * (TCP and TLS handshake, 2 s), a response timeout, redirects, and retries with
 * backoff for transient failures (connection resets, 5xx, 429 with Retry-After).
 *
 * Plain HTTP is used only where allowed: a URL written http://, or an endpoint marked
 * allowHttp (an `insecure` registry, or a loopback host as Docker does). Such an
 * endpoint is tried over HTTPS first and falls back to HTTP only when the server does
 * not speak TLS at all — a certificate that fails verification is an error, never a
 * reason to go plain.
 */
import { readFileSync } from "node:fs";
import type * as Http from "node:http";
import * as https from "node:https";
import type { Duplex, Readable } from "node:stream";
import { http, tls as nodeTls } from "../host/builtins.js";
import { SkiffError, errnoCode } from "../errors.js";

export interface TlsSettings {
  /** PEM file of extra CAs trusted besides the system ones. */
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  /** Accept any certificate. */
  insecureSkipVerify?: boolean;
}

export interface Endpoint {
  /** Stable identity: the base URL or the host. */
  key: string;
  /** What messages call it: "mirror http://127.0.0.1:5001" or "registry quay.io". */
  label: string;
  /** Base URL (scheme, host, optional path prefix) when fixed; else decided by probing. */
  base?: URL;
  /** host[:port] to reach when no base is fixed. */
  host: string;
  /** May fall back from HTTPS to plain HTTP (insecure registry or loopback host). */
  allowHttp: boolean;
  tls: TlsSettings;
  mirror: boolean;
}

export interface Timeouts {
  /** TCP connect plus TLS handshake. */
  connectMs: number;
  /** From sending a request to its response headers. */
  responseMs: number;
  /** The longest pause inside a response body before it counts as broken. */
  idleMs: number;
}

export interface SendOptions {
  method: string;
  /** Path and query under the endpoint's base ("/v2/..."), or an absolute URL. */
  path: string;
  headers?: Record<string, string>;
  /** A Buffer, or a factory giving a fresh stream per attempt. */
  body?: Buffer | (() => Readable);
  timeouts: Timeouts;
  /** Attempts in all for transient failures (1 = no retry). */
  attempts: number;
  /** Follow redirects (GET and HEAD only); Authorization is dropped across hosts. */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  headers: Http.IncomingHttpHeaders;
  body: Http.IncomingMessage;
  url: URL;
}

/** A failure to talk to an endpoint at all (before any HTTP status). */
export class TransportError extends SkiffError {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super("Unavailable", message, options);
    this.name = "TransportError";
  }
}

export const defaultTimeouts: Timeouts = { connectMs: 2000, responseMs: 30_000, idleMs: 30_000 };

const loopbackHost = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)(?::\d+)?$/;

/** Loopback registries may be reached over plain HTTP with no configuration (Docker's rule). */
export function isLoopbackHost(host: string): boolean {
  return loopbackHost.test(host.toLowerCase());
}

const transientCodes = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERESPONSETIMEOUT"]);
const certificateErrors =
  /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME|HOSTNAME_MISMATCH|DEPTH_ZERO/;
const connectFailures = new Set([
  "ECONNREFUSED",
  "ECONNECTTIMEOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERESPONSETIMEOUT",
  "EADDRNOTAVAIL",
]);

class TimedHttpAgent extends http.Agent {
  constructor(
    options: Http.AgentOptions,
    private readonly connectMs: number,
  ) {
    super(options);
  }

  override createConnection(
    options: Http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (socket) armConnectTimer(socket, "connect", this.connectMs);
    return socket;
  }
}

class TimedHttpsAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly connectMs: number,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (socket) armConnectTimer(socket, "secureConnect", this.connectMs);
    return socket;
  }
}

function armConnectTimer(socket: Duplex, event: string, ms: number): void {
  const timer = setTimeout(() => {
    const err = Object.assign(new Error(`no connection within ${ms} ms`), {
      code: "ECONNECTTIMEOUT",
    });
    socket.destroy(err);
  }, ms);
  const clear = (): void => clearTimeout(timer);
  socket.once(event, clear);
  socket.once("close", clear);
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SkiffError(
      "FailedPrecondition",
      `cannot read ${what} ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Backoff before attempt n+1 (n from 1): 200 ms, 400 ms, 800 ms ... with ±20% jitter, at most 5 s. */
export function backoffMs(attempt: number): number {
  const base = Math.min(5000, 200 * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Retry-After as seconds or an HTTP date, bounded to 10 s. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  let ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  ms = Math.max(0, Math.min(ms, 10_000));
  return ms;
}

export class Transport {
  private readonly agents = new Map<string, Http.Agent>();
  /** The scheme found for allowHttp endpoints, by host. */
  private readonly schemes = new Map<string, "https:" | "http:">();

  constructor(private readonly connectMs = defaultTimeouts.connectMs) {}

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Sends with retries for transient failures; resolves with any HTTP status. */
  async send(endpoint: Endpoint, options: SendOptions): Promise<Response> {
    let attempt = 0;
    for (;;) {
      attempt++;
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await this.sendFollowing(endpoint, options);
      } catch (err) {
        failure = err;
      }
      const last = attempt >= options.attempts;
      if (response !== undefined) {
        const transient = response.status >= 500 || response.status === 429;
        if (!transient || last) return response;
        const wait = retryAfterMs(header(response.headers["retry-after"])) ?? backoffMs(attempt);
        response.body.resume();
        await sleep(wait, options.signal);
        continue;
      }
      const code = errnoCode(failure) ?? "";
      if (last || !(transientCodes.has(code) || code === "ECONNREFUSED")) throw failure;
      await sleep(backoffMs(attempt), options.signal);
    }
  }

  private async sendFollowing(endpoint: Endpoint, options: SendOptions): Promise<Response> {
    let url = await this.resolveUrl(endpoint, options);
    let headers = { ...options.headers };
    for (let hops = 0; ; hops++) {
      const response = await this.once(endpoint, url, options, headers);
      const location = header(response.headers.location);
      const redirect =
        [301, 302, 303, 307, 308].includes(response.status) && location !== undefined;
      if (!redirect || !options.followRedirects || hops >= 5) return response;
      response.body.resume();
      const next = new URL(location, url);
      if (next.protocol === "http:" && url.protocol === "https:") {
        throw new TransportError(
          `${endpoint.label}: refusing a redirect from HTTPS to ${next.origin}`,
          "EREDIRECT",
        );
      }
      if (next.host !== url.host) {
        headers = { ...headers };
        delete headers.Authorization;
        delete headers.authorization;
      }
      url = next;
    }
  }

  private async resolveUrl(endpoint: Endpoint, options: SendOptions): Promise<URL> {
    if (/^https?:\/\//.test(options.path)) return new URL(options.path);
    if (endpoint.base !== undefined) {
      const prefix = endpoint.base.pathname.replace(/\/+$/, "");
      return new URL(`${endpoint.base.origin}${prefix}${options.path}`);
    }
    const known = this.schemes.get(endpoint.host);
    if (known !== undefined || !endpoint.allowHttp) {
      return new URL(`${known ?? "https:"}//${endpoint.host}${options.path}`);
    }
    // Probe: a TLS handshake decides between https and http for this host.
    const probe = new URL(`https://${endpoint.host}/v2/`);
    try {
      const response = await this.once(
        endpoint,
        probe,
        { ...options, method: "GET", body: undefined },
        {},
      );
      response.body.resume();
      this.schemes.set(endpoint.host, "https:");
    } catch (err) {
      if (!notTls(err)) throw err;
      this.schemes.set(endpoint.host, "http:");
    }
    return new URL(`${this.schemes.get(endpoint.host)!}//${endpoint.host}${options.path}`);
  }

  private agent(endpoint: Endpoint, url: URL): Http.Agent {
    const tls = endpoint.base?.host === url.host || endpoint.host === url.host ? endpoint.tls : {};
    const key = `${url.protocol}//${url.host}|${tls.ca ?? ""}|${tls.clientCert ?? ""}|${tls.insecureSkipVerify ? 1 : 0}`;
    let agent = this.agents.get(key);
    if (agent !== undefined) return agent;
    const common = { keepAlive: true, maxSockets: 16, scheduling: "lifo" as const };
    if (url.protocol === "http:") {
      agent = new TimedHttpAgent(common, this.connectMs);
    } else {
      const extra = readPem(tls.ca, "CA file");
      const options: https.AgentOptions = {
        ...common,
        rejectUnauthorized: !tls.insecureSkipVerify,
      };
      if (extra !== undefined) options.ca = [...nodeTls.rootCertificates, extra.toString("utf8")];
      const cert = readPem(tls.clientCert, "client certificate");
      const clientKey = readPem(tls.clientKey, "client key");
      if (cert !== undefined) options.cert = cert;
      if (clientKey !== undefined) options.key = clientKey;
      agent = new TimedHttpsAgent(options, this.connectMs);
    }
    this.agents.set(key, agent);
    return agent;
  }

  /** One request, one response (headers received), or a TransportError. */
  private once(
    endpoint: Endpoint,
    url: URL,
    options: SendOptions,
    headers: Record<string, string>,
  ): Promise<Response> {
    const module = url.protocol === "http:" ? http : https;
    const agent = this.agent(endpoint, url);
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const body = typeof options.body === "function" ? options.body() : options.body;
      const reqHeaders: Record<string, string> = { "User-Agent": "skiff/0.1", ...headers };
      if (Buffer.isBuffer(body)) reqHeaders["Content-Length"] = String(body.length);
      const req = module.request(url, { method: options.method, headers: reqHeaders, agent });
      const timer = setTimeout(() => {
        const err = Object.assign(
          new Error(`no response within ${options.timeouts.responseMs} ms`),
          {
            code: "ERESPONSETIMEOUT",
          },
        );
        req.destroy(err);
      }, options.timeouts.responseMs);
      const onAbort = (): void => {
        req.destroy(
          options.signal!.reason instanceof Error ? options.signal!.reason : new Error("aborted"),
        );
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      req.on("response", (res) => {
        done();
        settled = true;
        res.setTimeout(options.timeouts.idleMs, () => {
          res.destroy(
            Object.assign(new Error(`no data for ${options.timeouts.idleMs} ms`), {
              code: "EIDLETIMEOUT",
            }),
          );
        });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      req.on("error", (err) => {
        done();
        if (settled) return;
        settled = true;
        reject(describeFailure(endpoint, url, err));
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on("error", (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function notTls(err: unknown): boolean {
  const code = errnoCode(err) ?? "";
  const cause = (err as { cause?: unknown }).cause;
  const inner = errnoCode(cause) ?? code;
  if (connectFailures.has(inner) || certificateErrors.test(inner)) return false;
  const message = String((cause as Error | undefined)?.message ?? (err as Error).message);
  return /wrong version number|packet length too long|unknown protocol|EPROTO|ECONNRESET|socket hang up|record layer/i.test(
    `${inner} ${message}`,
  );
}

function describeFailure(endpoint: Endpoint, url: URL, err: Error): TransportError {
  const code = errnoCode(err) ?? "EUNKNOWN";
  let reason = err.message;
  if (code === "ECONNECTTIMEOUT") reason = `connect timed out (${err.message})`;
  else if (certificateErrors.test(code)) reason = `TLS certificate not trusted: ${err.message}`;
  return new TransportError(`${endpoint.label} (${url.origin}): ${reason}`, code, { cause: err });
}
