/**
 * A Registry as skiff-cri's drop-in, /etc/skiff/registries.d/<name>.yaml, in the one
 * schema of cri/src/core/config/schema.ts; CA bundles go to /etc/skiff/certs/<name>/.
 * The text is checked with skiff-cri's own parser before it is written, so a file the
 * agent writes can never make a reload fail. Files carry a marker line so the agent can
 * recognise (and remove) its own files and never touches an admin's.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfigFile } from "../../../cri/src/core/config/load.js";
import type { Registry } from "../apis/v1alpha1/registry.js";
import { hostPath, writeIfChanged, type Host } from "./host.js";

export const marker = "# Written by skiff node agent for Registry ";
export const dropInDir = "/etc/skiff/registries.d";
export const certDir = (name: string): string => `/etc/skiff/certs/${name}`;

export interface Auth {
  username?: string;
  password?: string;
  identityToken?: string;
}

export interface RenderedRegistry {
  /** host path → content */
  files: Map<string, { content: string; mode: number }>;
  dropIn: string;
}

export function renderRegistry(
  r: Registry,
  mirrors: {
    url: string;
    caBundle?: string;
    insecureSkipVerify: boolean;
    capabilities: string[];
  }[],
  auth?: Auth,
  client?: { cert: string; key: string },
): RenderedRegistry {
  const name = r.metadata.name;
  const files = new Map<string, { content: string; mode: number }>();
  const entry: Record<string, unknown> = {};
  entry["mirrors"] = mirrors.map((m, i) => {
    const out: Record<string, unknown> = { url: m.url };
    if (m.caBundle) {
      const path = `${certDir(name)}/mirror-${i}.pem`;
      files.set(path, { content: m.caBundle, mode: 0o644 });
      out["ca"] = path;
    }
    out["insecureSkipVerify"] = m.insecureSkipVerify;
    out["capabilities"] = m.capabilities;
    return out;
  });
  if (r.spec.caBundle) {
    const path = `${certDir(name)}/ca.pem`;
    files.set(path, { content: r.spec.caBundle, mode: 0o644 });
    entry["ca"] = path;
  }
  if (client) {
    const cert = `${certDir(name)}/client.pem`;
    const key = `${certDir(name)}/client-key.pem`;
    files.set(cert, { content: client.cert, mode: 0o644 });
    files.set(key, { content: client.key, mode: 0o600 });
    entry["clientCert"] = cert;
    entry["clientKey"] = key;
  }
  entry["insecure"] = r.spec.insecure;
  if (auth) entry["auth"] = auth;
  const text = `${marker}${name} (generation ${r.metadata.generation ?? 0}); do not edit.\n${stringify({ registries: { [r.spec.server]: entry } })}`;
  const dropIn = `${dropInDir}/${name}.yaml`;
  // Refuse to write what skiff-cri would refuse to load.
  parseConfigFile(dropIn, text);
  files.set(dropIn, { content: text, mode: 0o600 });
  return { files, dropIn };
}

/** Writes the files; returns true when any changed. */
export function writeRegistry(host: Host, rendered: RenderedRegistry): boolean {
  let changed = false;
  for (const [path, f] of rendered.files)
    if (writeIfChanged(hostPath(host, path), f.content, f.mode)) changed = true;
  return changed;
}

/** Removes the agent's files for a Registry; returns true when something was removed. */
export function removeRegistry(host: Host, name: string): boolean {
  const file = hostPath(host, `${dropInDir}/${name}.yaml`);
  let removed = false;
  if (existsSync(file) && readFileSync(file, "utf8").startsWith(marker)) {
    rmSync(file);
    removed = true;
  }
  const certs = hostPath(host, certDir(name));
  if (existsSync(certs)) rmSync(certs, { recursive: true, force: true });
  return removed;
}

/** The Registry names of the agent's own files in registries.d. */
export function ownDropIns(host: Host): string[] {
  const dir = hostPath(host, dropInDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .filter((f) => {
      try {
        return readFileSync(join(dir, f), "utf8").startsWith(marker);
      } catch {
        return false;
      }
    })
    .map((f) => f.slice(0, -".yaml".length));
}
