/**
 * Registry authentication (the distribution token auth spec): a request goes out
 * anonymous, or with what the endpoint asked for last time; a 401 carries a
 * WWW-Authenticate challenge:
 *   - Basic: send the credentials as Basic auth;
 *   - Bearer realm,service[,scope]: GET realm?service=..&scope=.. (with Basic
 *     credentials when there are any; an identity token is exchanged by POST with
 *     grant_type=refresh_token, the OAuth2 form), and send the token as Bearer.
 * Tokens are cached per (endpoint, realm, service, scopes, credentials) until they
 * expire (expires_in, 60 s when absent, as the spec says), refreshed 10 s early;
 * the clock is injectable. A registry token from the CRI is sent as it is.
 */
import { createHash } from "node:crypto";
import { SkiffError } from "../errors.js";
import { parseChallenges, type Challenge } from "./challenge.js";
import type { Credentials } from "./credentials.js";
import { header, type Endpoint, type Timeouts, type Transport } from "./transport.js";

/** What the authorizer needs of a transport (a recording fake in unit tests). */
export type Sender = Pick<Transport, "send">;

export interface TokenResponse {
  token: string;
  expiresAt: number;
}

type Scheme = { kind: "basic" } | { kind: "bearer"; realm: string; service?: string };

/** repository:<path>:<actions> */
export function repositoryScope(path: string, actions: string[]): string {
  return `repository:${path}:${actions.join(",")}`;
}

export interface AuthorizerOptions {
  transport: Sender;
  /** Timeouts of token requests made because of `endpoint` (a mirror's are shorter). */
  timeouts: Timeouts | ((endpoint: Endpoint) => Timeouts);
  now?: () => number;
}

export class Authorizer {
  private readonly schemes = new Map<string, Scheme>();
  private readonly tokens = new Map<string, TokenResponse>();
  private readonly inflight = new Map<string, Promise<TokenResponse>>();
  private readonly now: () => number;
  /** Token endpoint requests made, for tests and metrics. */
  tokenRequests = 0;

  constructor(private readonly options: AuthorizerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The Authorization header to send first, or undefined for anonymous. */
  async authorization(
    endpoint: Endpoint,
    scopes: string[],
    creds: Credentials | undefined,
  ): Promise<string | undefined> {
    if (creds?.kind === "registryToken") return `Bearer ${creds.token}`;
    const scheme = this.schemes.get(endpoint.key);
    if (scheme === undefined) return undefined;
    if (scheme.kind === "basic") return creds?.kind === "basic" ? basic(creds) : undefined;
    const token = await this.token(endpoint, scheme, scopes, creds, false);
    return `Bearer ${token.token}`;
  }

  /**
   * Answers a 401: learns the endpoint's scheme and returns the header to retry with,
   * or throws Unauthenticated when there is nothing better to send.
   */
  async answer(
    endpoint: Endpoint,
    wwwAuthenticate: string | string[] | undefined,
    scopes: string[],
    creds: Credentials | undefined,
    what: string,
  ): Promise<string> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const basicChallenge = challenges.find((c) => c.scheme === "basic");
    if (creds?.kind === "registryToken") {
      throw unauthenticated(what, endpoint, "the registry refused the registry token");
    }
    if (bearer !== undefined) {
      const scheme = bearerScheme(bearer);
      this.schemes.set(endpoint.key, scheme);
      const wanted = mergeScopes(scopes, bearer.params.scope);
      const token = await this.token(endpoint, scheme, wanted, creds, true);
      return `Bearer ${token.token}`;
    }
    if (basicChallenge !== undefined) {
      this.schemes.set(endpoint.key, { kind: "basic" });
      if (creds?.kind !== "basic") {
        throw unauthenticated(
          what,
          endpoint,
          "the registry asks for a username and password and none are configured",
        );
      }
      return basic(creds);
    }
    throw unauthenticated(
      what,
      endpoint,
      `unsupported authentication challenge "${String(header(wwwAuthenticate) ?? "")}"`,
    );
  }

  /** Forgets what was learnt and cached (a config reload). */
  reset(): void {
    this.schemes.clear();
    this.tokens.clear();
  }

  private async token(
    endpoint: Endpoint,
    scheme: { realm: string; service?: string },
    scopes: string[],
    creds: Credentials | undefined,
    force: boolean,
  ): Promise<TokenResponse> {
    const key = [
      endpoint.key,
      scheme.realm,
      scheme.service ?? "",
      [...scopes].sort().join(" "),
      credsId(creds),
    ].join("|");
    const cached = this.tokens.get(key);
    if (!force && cached !== undefined && cached.expiresAt - 10_000 > this.now()) return cached;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.fetchToken(endpoint, scheme, scopes, creds).finally(() =>
        this.inflight.delete(key),
      );
      this.inflight.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return token;
  }

  private async fetchToken(
    endpoint: Endpoint,
    scheme: { realm: string; service?: string },
    scopes: string[],
    creds: Credentials | undefined,
  ): Promise<TokenResponse> {
    const what = `token for ${scopes.join(" ") || "(no scope)"}`;
    let realm: URL;
    try {
      realm = new URL(scheme.realm);
    } catch {
      throw unauthenticated(what, endpoint, `the token realm "${scheme.realm}" is not a URL`);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw unauthenticated(what, endpoint, `the token realm "${scheme.realm}" is not http(s)`);
    }
    const headers: Record<string, string> = { Accept: "application/json" };
    let method = "GET";
    let body: Buffer | undefined;
    if (creds?.kind === "identityToken") {
      method = "POST";
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.token,
        client_id: "skiff",
      });
      if (scheme.service) form.set("service", scheme.service);
      if (scopes.length > 0) form.set("scope", scopes.join(" "));
      body = Buffer.from(form.toString());
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else {
      if (scheme.service) realm.searchParams.set("service", scheme.service);
      for (const scope of scopes) realm.searchParams.append("scope", scope);
      if (creds?.kind === "basic") {
        headers.Authorization = basic(creds);
        realm.searchParams.set("account", creds.username);
      }
    }
    this.tokenRequests++;
    const issuedAt = this.now();
    const response = await this.options.transport.send(endpoint, {
      method,
      path: realm.toString(),
      headers,
      body,
      timeouts:
        typeof this.options.timeouts === "function"
          ? this.options.timeouts(endpoint)
          : this.options.timeouts,
      attempts: endpoint.mirror ? 1 : 3,
      followRedirects: true,
    });
    const text = await readText(response.body, 1 << 20);
    if (response.status === 401 || response.status === 403) {
      throw unauthenticated(
        what,
        endpoint,
        `the token server ${realm.origin} refused the credentials (HTTP ${response.status})`,
      );
    }
    if (response.status !== 200) {
      throw new SkiffError(
        response.status >= 500 ? "Unavailable" : "Unauthenticated",
        `${endpoint.label}: ${what}: the token server ${realm.origin} answered HTTP ${response.status}`,
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw unauthenticated(what, endpoint, `the token server ${realm.origin} sent no JSON`);
    }
    const token =
      typeof parsed.access_token === "string" && parsed.access_token
        ? parsed.access_token
        : parsed.token;
    if (typeof token !== "string" || token === "") {
      throw unauthenticated(what, endpoint, `the token server ${realm.origin} sent no token`);
    }
    const expiresIn =
      typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : 60;
    return { token, expiresAt: issuedAt + expiresIn * 1000 };
  }
}

function bearerScheme(challenge: Challenge): Scheme & { kind: "bearer" } {
  const scheme: Scheme & { kind: "bearer" } = { kind: "bearer", realm: challenge.params.realm! };
  if (challenge.params.service !== undefined) scheme.service = challenge.params.service;
  return scheme;
}

/** The scopes we need plus any the challenge names (registries may ask for more). */
export function mergeScopes(ours: string[], fromChallenge: string | undefined): string[] {
  const all = new Set(ours);
  for (const s of (fromChallenge ?? "").split(" ")) if (s !== "") all.add(s);
  return [...all];
}

function basic(creds: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
}

function credsId(creds: Credentials | undefined): string {
  if (creds === undefined) return "anonymous";
  const secret = creds.kind === "basic" ? `${creds.username}:${creds.password}` : creds.token;
  return `${creds.kind}:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`;
}

function unauthenticated(what: string, endpoint: Endpoint, reason: string): SkiffError {
  return new SkiffError("Unauthenticated", `${endpoint.label}: ${what}: ${reason}`);
}

export async function readText(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  return (await readAll(body, limit)).toString("utf8");
}

/** Reads a whole body, refusing more than `limit` bytes. */
export async function readAll(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit)
      throw new SkiffError("ResourceExhausted", `response larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
