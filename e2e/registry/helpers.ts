/** Shared bits of the registry e2e tests: a client for a config, and draining blobs. */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type {
  MirrorConfig,
  RegistryConfig,
  SkiffConfig,
} from "../../cri/src/core/config/schema.js";
import { RegistryClient, type RegistryClientOptions } from "../../cri/src/core/registry/client.js";
import { SkiffError } from "../../cri/src/core/errors.js";

export function registryConfig(fields: Partial<RegistryConfig> = {}): RegistryConfig {
  return { mirrors: [], insecure: false, source: "test", ...fields };
}

export function mirror(url: string, fields: Partial<MirrorConfig> = {}): MirrorConfig {
  return { url, insecureSkipVerify: false, capabilities: ["pull", "resolve"], ...fields };
}

export function clientFor(
  registries: Record<string, RegistryConfig> = {},
  options: Partial<RegistryClientOptions> = {},
): RegistryClient {
  const config: SkiffConfig = { registries, files: [] };
  return new RegistryClient({ config, ...options });
}

export async function drain(
  stream: Readable,
): Promise<{ bytes: number; digest: string; data: Buffer }> {
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    chunks.push(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, digest: `sha256:${hash.digest("hex")}`, data: Buffer.concat(chunks) };
}

/** The SkiffError a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<SkiffError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw new Error(`expected a SkiffError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected a rejection");
}
