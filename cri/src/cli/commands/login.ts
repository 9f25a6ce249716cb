/**
 * skiff login / logout: credentials in the docker-style config.json that skiff-cri reads
 * ($SKIFF_DOCKER_CONFIG, else /root/.docker/config.json), as `docker login` keeps them:
 * auths."host[:port]".auth = base64("user:password").
 *
 * login first checks the credentials against the registry's /v2/ (distribution spec
 * "API version check"): answered 200 anonymously, after HTTP basic auth, or after a
 * bearer token obtained from the realm of the registry's challenge with basic auth.
 * Loopback registries are reached over plain HTTP (as Docker does), others over HTTPS.
 * Afterwards skiff-cri is asked to reload its configuration so it uses the new file.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { parseChallenges } from "../../core/registry/challenge.js";
import { normaliseAuthKey, type DockerConfigFile } from "../../core/registry/credentials.js";
import { rpc, type SkiffClients } from "../client.js";
import { UsageError, type Command } from "./images.js";

export const dockerConfigPath = (): string =>
  process.env["SKIFF_DOCKER_CONFIG"] ?? "/root/.docker/config.json";

function serverKey(server: string): string {
  return server.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}

async function readConfig(path: string): Promise<DockerConfigFile & Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  try {
    return JSON.parse(text) as DockerConfigFile & Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

async function writeConfig(path: string, config: object): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Resolves when `username`/`password` are accepted by the registry at `host`. */
export async function verifyLogin(host: string, username: string, password: string): Promise<void> {
  const base = `${isLoopback(host) ? "http" : "https"}://${host}`;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const get = async (url: string, authorization?: string): Promise<Response> => {
    try {
      return await fetch(url, {
        headers: authorization ? { Authorization: authorization } : {},
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      throw new UsageError(
        `login ${host}: cannot reach ${url}: ${cause?.message ?? (err as Error).message}`,
      );
    }
  };
  const first = await get(`${base}/v2/`);
  if (first.status === 200) return;
  if (first.status !== 401)
    throw new UsageError(`login ${host}: ${base}/v2/ answered HTTP ${first.status}`);
  const challenge = parseChallenges(first.headers.get("www-authenticate") ?? "")[0];
  const refused = new UsageError(`login ${host}: unauthorized: incorrect username or password`);
  if (challenge?.scheme.toLowerCase() === "basic") {
    const again = await get(`${base}/v2/`, basic);
    if (again.status === 200) return;
    if (again.status === 401) throw refused;
    throw new UsageError(`login ${host}: ${base}/v2/ answered HTTP ${again.status}`);
  }
  if (challenge?.scheme.toLowerCase() === "bearer") {
    const realm = challenge.params["realm"];
    if (!realm) throw new UsageError(`login ${host}: the bearer challenge has no realm`);
    const url = new URL(realm);
    if (challenge.params["service"]) url.searchParams.set("service", challenge.params["service"]);
    url.searchParams.set("account", username);
    const token = await get(url.toString(), basic);
    if (token.status === 200) return;
    if (token.status === 401 || token.status === 403) throw refused;
    throw new UsageError(`login ${host}: the token server answered HTTP ${token.status}`);
  }
  throw new UsageError(`login ${host}: unsupported authentication challenge`);
}

/** Asks skiff-cri to re-read its configuration (and config.json); a daemon that is down is fine. */
async function reloadDaemon(c: SkiffClients): Promise<void> {
  try {
    await rpc(c.config, "Reload", {}, 10_000);
  } catch (err) {
    const e = err as Error & { details?: string };
    process.stderr.write(
      `skiff: warning: skiff-cri did not reload its configuration: ${e.details ?? e.message}\n`,
    );
  }
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

export const login: Command = async (c, args) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        username: { type: "string", short: "u" },
        password: { type: "string", short: "p" },
        "password-stdin": { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError(`login: ${(err as Error).message}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1)
    throw new UsageError("login: usage: skiff login [-u USER] [-p PASS | --password-stdin] SERVER");
  const host = serverKey(positionals[0] as string);
  const username = values.username;
  if (!username) throw new UsageError("login: a username is required (-u USER)");
  if (values.password !== undefined && values["password-stdin"])
    throw new UsageError("login: --password and --password-stdin are mutually exclusive");
  const password = values["password-stdin"] ? await readStdin() : values.password;
  if (password === undefined || password === "")
    throw new UsageError("login: a password is required (-p PASS or --password-stdin)");
  await verifyLogin(host, username, password);
  const path = dockerConfigPath();
  const config = await readConfig(path);
  config.auths = {
    ...config.auths,
    [host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") },
  };
  await writeConfig(path, config);
  await reloadDaemon(c);
  process.stdout.write("Login Succeeded\n");
};

export const logout: Command = async (c, args) => {
  if (args.length !== 1 || args[0]?.startsWith("-"))
    throw new UsageError("logout: usage: skiff logout SERVER");
  const host = serverKey(args[0] as string);
  const path = dockerConfigPath();
  const config = await readConfig(path);
  const keys = Object.keys(config.auths ?? {}).filter(
    (k) => normaliseAuthKey(k) === normaliseAuthKey(host),
  );
  if (keys.length === 0) {
    process.stdout.write(`Not logged in to ${host}\n`);
    return;
  }
  for (const key of keys) delete config.auths?.[key];
  await writeConfig(path, config);
  await reloadDaemon(c);
  process.stdout.write(`Removing login credentials for ${host}\n`);
};
