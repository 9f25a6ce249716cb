/**
 * Real OCI registries for e2e tests: Debian's docker-registry (Distribution 2.8) on
 * 127.0.0.1 with a random free port and a temp storage dir, in four modes:
 *   plain HTTP · TLS (a CA and a server cert for IP 127.0.0.1 made with openssl),
 *   optionally requiring a client certificate ·
 *   htpasswd basic auth (bcrypt, apache2-utils' htpasswd) · bearer tokens from a token
 *   server run here in Node (RS256 JWTs with Distribution's `access` claim, and a `kid`
 *   header: libtrust's key id of the signing key, which Distribution 2.8 looks up among
 *   the keys of its rootcertbundle).
 * stop() kills the registry and the token server and removes the temp dir.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const registryBinary = "/usr/bin/docker-registry";

export interface TokenUser {
  password: string;
  /** Actions granted on every repository (default pull and push). */
  actions?: string[];
}

export interface TokenServerOptions {
  users?: Record<string, TokenUser>;
  /** Actions granted to anonymous requests (default none: anonymous gets 401). */
  anonymous?: string[];
  /** expires_in of issued tokens, seconds (default 300). */
  expiresIn?: number;
  /** OAuth2 refresh tokens (identity tokens) accepted by POST, mapped to a user. */
  refreshTokens?: Record<string, string>;
}

export interface RegistryOptions {
  tls?: boolean;
  /** TLS that also requires a client certificate signed by the test CA (implies tls). */
  clientCerts?: boolean;
  htpasswd?: { username: string; password: string };
  token?: TokenServerOptions;
}

export interface TokenRequest {
  account?: string;
  scopes: string[];
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  requests: TokenRequest[];
  /** A signed token granting `access` (for the harness's own pushes). */
  mint(access: { type: string; name: string; actions: string[] }[], subject?: string): string;
  stop(): Promise<void>;
}

export interface TestRegistry {
  /** host:port as written in image references. */
  host: string;
  port: number;
  url: string;
  dir: string;
  /** PEM of the CA that signed the server certificate (TLS mode). */
  caFile?: string;
  /** A client certificate and key the registry accepts (clientCerts mode). */
  clientCert?: { certFile: string; keyFile: string };
  tokenServer?: TokenServer;
  /** An Authorization header value with push and pull on `repository`, if the mode needs one. */
  adminAuthorization(repositories: string[]): string | undefined;
  logs(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${result.stderr || result.error?.message}`,
    );
  }
  return result.stdout;
}

export interface TestCertificates {
  caFile: string;
  caKey: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a server certificate for 127.0.0.1 / localhost, signed by it (openssl). */
export function makeCertificates(dir: string, name = "server"): TestCertificates {
  const caFile = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    "2",
    "-subj",
    "/CN=skiff test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const csr = join(dir, `${name}.csr`);
  run("openssl", ["req", ...ec, "-keyout", keyFile, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  return { caFile, caKey, certFile, keyFile };
}

/** A client certificate signed by the test CA (for registries that require one). */
export function makeClientCertificate(
  dir: string,
  certs: TestCertificates,
): { certFile: string; keyFile: string } {
  const certFile = join(dir, "client.pem");
  const keyFile = join(dir, "client.key");
  const csr = join(dir, "client.csr");
  run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    csr,
    "-subj",
    "/CN=skiff test client",
  ]);
  const ext = join(dir, "client.ext");
  writeFileSync(ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    certs.caFile,
    "-CAkey",
    certs.caKey,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  return { certFile, keyFile };
}

/** libtrust's key id: sha256 of the DER public key, first 240 bits, base32, groups of 4 joined by ":". */
export function libtrustKeyId(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  const hash = createHash("sha256").update(der).digest().subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(":");
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

async function startTokenServer(
  dir: string,
  options: TokenServerOptions,
): Promise<TokenServer & { bundle: string }> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.pem");
  run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=skiff test token issuer",
  ]);
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const kid = libtrustKeyId(readFileSync(certFile, "utf8"));
  const service = "skiff-test-registry";
  const issuer = "skiff-test-token-issuer";
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequest[] = [];

  const mint = (
    access: { type: string; name: string; actions: string[] }[],
    subject = "",
  ): string => {
    const now = Math.floor(Date.now() / 1000);
    const headerPart = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid }));
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${headerPart}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign("sha256", Buffer.from(input), privateKey))}`;
  };

  const server = http.createServer((req, res) => {
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => answer(req, res, new URLSearchParams(Buffer.concat(chunks).toString())));
      return;
    }
    answer(req, res, undefined);
  });
  const answer = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    form: URLSearchParams | undefined,
  ): void => {
    const url = new URL(req.url ?? "/", "http://x");
    const params = form ?? url.searchParams;
    const scopes = params
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .filter(Boolean);
    let account: string | undefined;
    let granted: string[] | undefined = options.anonymous;
    const authorization = req.headers.authorization;
    const reply = (status: number, body: object): void => {
      requests.push({ ...(account !== undefined ? { account } : {}), scopes, status });
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== "/token") return reply(404, { error: "not found" });
    if (params.get("service") !== service) return reply(400, { error: "unknown service" });
    if (form !== undefined) {
      const user =
        form.get("grant_type") === "refresh_token"
          ? options.refreshTokens?.[form.get("refresh_token") ?? ""]
          : undefined;
      if (user === undefined) return reply(401, { error: "invalid_grant" });
      account = user;
      granted = options.users?.[user]?.actions ?? ["pull", "push"];
    } else if (authorization?.startsWith("Basic ")) {
      const text = Buffer.from(authorization.slice(6), "base64").toString();
      const colon = text.indexOf(":");
      account = text.slice(0, colon);
      const user = options.users?.[account];
      if (user === undefined || user.password !== text.slice(colon + 1)) {
        return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] });
      }
      granted = user.actions ?? ["pull", "push"];
    }
    if (granted === undefined)
      return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
    const access = scopes.map((scope) => {
      const [type = "", name = "", actions = ""] = scope.split(":");
      return { type, name, actions: actions.split(",").filter((a) => granted!.includes(a)) };
    });
    const token = mint(access, account ?? "");
    if (form !== undefined)
      return reply(200, { access_token: token, expires_in: expiresIn, scope: scopes.join(" ") });
    reply(200, {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    });
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    requests,
    mint,
    bundle: certFile,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function registryConfig(
  dir: string,
  port: number,
  certs: TestCertificates | undefined,
  auth: string,
  clientCas: boolean,
): string {
  let tls = certs ? `  tls:\n    certificate: ${certs.certFile}\n    key: ${certs.keyFile}\n` : "";
  if (certs && clientCas) tls += `    clientcas:\n      - ${certs.caFile}\n`;
  return `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${join(dir, "data")}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: skiff-e2e-secret
  relativeurls: false
${tls}${auth}`;
}

/** Starts a registry and waits until /v2/ answers. */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-registry-"));
  let child: ChildProcess | undefined;
  let tokenServer: (TokenServer & { bundle: string }) | undefined;
  let output = "";
  try {
    const certs = options.tls || options.clientCerts ? makeCertificates(dir) : undefined;
    const clientCert = certs && options.clientCerts ? makeClientCertificate(dir, certs) : undefined;
    let auth = "";
    if (options.htpasswd) {
      const file = join(dir, "htpasswd");
      writeFileSync(
        file,
        run("htpasswd", ["-Bbn", options.htpasswd.username, options.htpasswd.password]),
      );
      auth = `auth:\n  htpasswd:\n    realm: skiff-test\n    path: ${file}\n`;
    } else if (options.token) {
      tokenServer = await startTokenServer(dir, options.token);
      auth =
        `auth:\n  token:\n    realm: ${tokenServer.realm}\n    service: ${tokenServer.service}\n` +
        `    issuer: ${tokenServer.issuer}\n    rootcertbundle: ${tokenServer.bundle}\n`;
    }
    const port = await freePort();
    const configFile = join(dir, "config.yml");
    writeFileSync(configFile, registryConfig(dir, port, certs, auth, clientCert !== undefined));
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
    child = spawn(registryBinary, ["serve", configFile], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const scheme = certs ? "https" : "http";
    const url = `${scheme}://127.0.0.1:${port}`;
    const ca = certs ? readFileSync(certs.caFile) : undefined;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`docker-registry exited ${child.exitCode}:\n${output}`);
      const status = await probe(`${url}/v2/`, ca, clientCert).catch(() => 0);
      if (status === 200 || status === 401) break;
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer on ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = child;
    const token = tokenServer;
    const registry: TestRegistry = {
      host: `127.0.0.1:${port}`,
      port,
      url,
      dir,
      adminAuthorization(repositories) {
        if (options.htpasswd) {
          const { username, password } = options.htpasswd;
          return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
        }
        if (token) {
          return `Bearer ${token.mint(
            repositories.map((name) => ({
              type: "repository",
              name,
              actions: ["pull", "push", "delete"],
            })),
            "harness",
          )}`;
        }
        return undefined;
      },
      logs: () => output,
      async stop() {
        if (started.exitCode === null && started.signalCode === null) {
          const exited = new Promise((resolve) => started.once("exit", resolve));
          started.kill("SIGTERM");
          const timer = setTimeout(() => started.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(timer);
        }
        await token?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    if (certs) registry.caFile = certs.caFile;
    if (clientCert) registry.clientCert = clientCert;
    if (token) registry.tokenServer = token;
    return registry;
  } catch (err) {
    child?.kill("SIGKILL");
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function probe(
  url: string,
  ca: Buffer | undefined,
  client: { certFile: string; keyFile: string } | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const module = url.startsWith("https:") ? https : http;
    const tls = {
      ...(ca ? { ca } : {}),
      ...(client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}),
    };
    const req = module.get(url, { ...tls, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
