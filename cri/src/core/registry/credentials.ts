/**
 * Which credentials to offer a registry, from three sources in order:
 *   1. the request's own (the CRI AuthConfig of a PullImage, or a CLI --creds),
 *   2. Skiff's config (registries."host".auth, DESIGN.md "Registry configuration"),
 *   3. a docker-style config.json (auths.<host>: auth / username+password / identitytoken).
 * Pure functions: no I/O except readDockerConfig, which reads the file it is given.
 * Credentials go to the registry host they were configured for, never to its mirrors.
 */
import { readFileSync } from "node:fs";
import { SkiffError, errnoCode, invalidArgument } from "../errors.js";
import type { RegistryAuth } from "../config/schema.js";

/** The shape of CRI's AuthConfig (snake_case as on the wire). */
export interface AuthConfigInput {
  username?: string;
  password?: string;
  /** base64("user:password") */
  auth?: string;
  server_address?: string;
  identity_token?: string;
  registry_token?: string;
}

export type Credentials =
  | { kind: "basic"; username: string; password: string }
  /** An OAuth2 refresh token, exchanged at the token endpoint (docker login's identitytoken). */
  | { kind: "identityToken"; token: string; username?: string }
  /** A bearer token sent to the registry as it is. */
  | { kind: "registryToken"; token: string };

export interface DockerConfigFile {
  auths?: Record<
    string,
    {
      auth?: string;
      username?: string;
      password?: string;
      identitytoken?: string;
      registrytoken?: string;
    }
  >;
}

/** Docker Hub's names: credentials stored under any of them apply to docker.io. */
const dockerHubKeys = ["docker.io", "index.docker.io", "registry-1.docker.io"];

function decodeAuth(auth: string, where: string): { username: string; password: string } {
  const text = Buffer.from(auth, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) throw invalidArgument(`${where}: "auth" is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** What an HTTP header value may hold (as Node checks it): no control characters but tab. */
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Credentials from a CRI AuthConfig, or undefined when it carries none. */
export function fromAuthConfig(input: AuthConfigInput | undefined): Credentials | undefined {
  if (input === undefined) return undefined;
  if (input.registry_token) {
    // sent as it is in "Authorization: Bearer <token>"
    if (!headerValue.test(input.registry_token))
      throw invalidArgument("auth.registry_token: has characters an HTTP header cannot carry");
    return { kind: "registryToken", token: input.registry_token };
  }
  if (input.identity_token) {
    const creds: Credentials = { kind: "identityToken", token: input.identity_token };
    if (input.username) creds.username = input.username;
    return creds;
  }
  if (input.username)
    return { kind: "basic", username: input.username, password: input.password ?? "" };
  if (input.auth) return { kind: "basic", ...decodeAuth(input.auth, "auth config") };
  return undefined;
}

/** Credentials from Skiff's config entry of a registry. */
export function fromSkiffConfig(auth: RegistryAuth | undefined): Credentials | undefined {
  if (auth === undefined) return undefined;
  if (auth.identityToken) {
    const creds: Credentials = { kind: "identityToken", token: auth.identityToken };
    if (auth.username) creds.username = auth.username;
    return creds;
  }
  if (auth.username)
    return { kind: "basic", username: auth.username, password: auth.password ?? "" };
  return undefined;
}

/** The key of a config.json "auths" entry as a host[:port] ("https://host/v1/" → host). */
export function normaliseAuthKey(key: string): string {
  let host = key.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, "");
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  return dockerHubKeys.includes(host) ? "docker.io" : host;
}

/** Credentials for `host` (as in references: docker.io for Docker Hub) from a config.json. */
export function fromDockerConfig(
  config: DockerConfigFile | undefined,
  host: string,
): Credentials | undefined {
  const auths = config?.auths;
  if (auths === undefined) return undefined;
  const want = normaliseAuthKey(host);
  // An exact key wins over a normalised one (e.g. "host" over "https://host/v1/").
  const keys = Object.keys(auths).sort((a, b) => Number(b === host) - Number(a === host));
  for (const key of keys) {
    if (normaliseAuthKey(key) !== want) continue;
    const entry = auths[key]!;
    if (entry.registrytoken) return { kind: "registryToken", token: entry.registrytoken };
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) ({ username, password } = decodeAuth(entry.auth, `config.json auths."${key}"`));
    if (entry.identitytoken) {
      const creds: Credentials = { kind: "identityToken", token: entry.identitytoken };
      if (username) creds.username = username;
      return creds;
    }
    if (username) return { kind: "basic", username, password: password ?? "" };
  }
  return undefined;
}

export interface CredentialSources {
  /** host[:port] of the registry as in references. */
  host: string;
  request?: AuthConfigInput;
  config?: RegistryAuth;
  dockerConfig?: DockerConfigFile;
}

/** The first source that has credentials, in the order the module header gives. */
export function resolveCredentials(sources: CredentialSources): Credentials | undefined {
  return (
    fromAuthConfig(sources.request) ??
    fromSkiffConfig(sources.config) ??
    fromDockerConfig(sources.dockerConfig, sources.host)
  );
}

/** Reads a docker config.json; a missing file is no credentials, a broken one an error. */
export function readDockerConfig(path: string): DockerConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new SkiffError("InvalidArgument", `cannot read docker config ${path}: ${String(err)}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
    return parsed as DockerConfigFile;
  } catch (err) {
    throw invalidArgument(`docker config ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
