/**
 * Checks a Registry's credentials Secret: it must exist, be of type
 * kubernetes.io/dockerconfigjson (with an entry for the server) or
 * kubernetes.io/basic-auth (username and password). Returns the auth the node agent
 * writes into registries.d, or the reason it cannot.
 */
import type { V1Secret } from "@kubernetes/client-node";

export type Credentials =
  | { ok: true; auth: { username?: string; password?: string; identityToken?: string } }
  | { ok: false; reason: "SecretNotFound" | "SecretInvalid"; message: string };

const decode = (b64: string | undefined): string | undefined =>
  b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");

export function readCredentials(
  secret: V1Secret | undefined,
  namespace: string,
  name: string,
  server: string,
): Credentials {
  if (!secret)
    return {
      ok: false,
      reason: "SecretNotFound",
      message: `Secret ${namespace}/${name} not found`,
    };
  const data = secret.data ?? {};
  if (secret.type === "kubernetes.io/basic-auth") {
    const username = decode(data["username"]);
    const password = decode(data["password"]);
    if (!username || !password)
      return {
        ok: false,
        reason: "SecretInvalid",
        message: `Secret ${namespace}/${name} of type basic-auth needs username and password`,
      };
    return { ok: true, auth: { username, password } };
  }
  if (secret.type === "kubernetes.io/dockerconfigjson") {
    let config: { auths?: Record<string, Record<string, string>> };
    try {
      config = JSON.parse(decode(data[".dockerconfigjson"]) ?? "");
    } catch {
      return {
        ok: false,
        reason: "SecretInvalid",
        message: `Secret ${namespace}/${name}: .dockerconfigjson is not JSON`,
      };
    }
    const auths = config.auths ?? {};
    const entry =
      auths[server] ??
      auths[`https://${server}`] ??
      (server === "docker.io" ? auths["https://index.docker.io/v1/"] : undefined);
    if (!entry)
      return {
        ok: false,
        reason: "SecretInvalid",
        message: `Secret ${namespace}/${name} has no auths entry for ${server}`,
      };
    if (entry["identitytoken"])
      return { ok: true, auth: { identityToken: entry["identitytoken"] } };
    let username = entry["username"];
    let password = entry["password"];
    if ((!username || !password) && entry["auth"]) {
      const plain = Buffer.from(entry["auth"], "base64").toString("utf8");
      const colon = plain.indexOf(":");
      username = plain.slice(0, colon);
      password = plain.slice(colon + 1);
    }
    if (!username || !password)
      return {
        ok: false,
        reason: "SecretInvalid",
        message: `Secret ${namespace}/${name}: the entry for ${server} has no credentials`,
      };
    return { ok: true, auth: { username, password } };
  }
  return {
    ok: false,
    reason: "SecretInvalid",
    message: `Secret ${namespace}/${name} has type ${secret.type ?? "Opaque"}; expected kubernetes.io/dockerconfigjson or kubernetes.io/basic-auth`,
  };
}

export type ClientCertificate =
  | { ok: true; cert: string; key: string }
  | {
      ok: false;
      reason: "ClientCertificateNotFound" | "ClientCertificateInvalid";
      message: string;
    };

/** A kubernetes.io/tls Secret's certificate and key, for mutual TLS to the upstream. */
export function readClientCertificate(
  secret: V1Secret | undefined,
  namespace: string,
  name: string,
): ClientCertificate {
  if (!secret)
    return {
      ok: false,
      reason: "ClientCertificateNotFound",
      message: `Secret ${namespace}/${name} not found`,
    };
  const cert = decode(secret.data?.["tls.crt"]);
  const key = decode(secret.data?.["tls.key"]);
  if (secret.type !== "kubernetes.io/tls" || !cert || !key)
    return {
      ok: false,
      reason: "ClientCertificateInvalid",
      message: `Secret ${namespace}/${name} must be of type kubernetes.io/tls with tls.crt and tls.key`,
    };
  return { ok: true, cert, key };
}
