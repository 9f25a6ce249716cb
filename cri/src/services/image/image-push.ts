/**
 * Push (OCI distribution spec, "Pushing blobs" and "Pushing manifests"): every layer
 * and the config from the content store, each skipped when the repository has it,
 * mounted across repositories when another repository of the same registry is known
 * to hold it (an image of this node named there), else uploaded; then the image
 * manifest under the tag. The node then knows the pushed repo digest as a name.
 */
import { Readable } from "node:stream";
import type { LocalContentStore } from "../../core/content/local-store.js";
import type { RegistryClient, RequestOptions } from "../../core/registry/client.js";
import type { AuthConfigInput } from "../../core/registry/credentials.js";
import {
  parseReference,
  repositoryName,
  withObject,
  type Reference,
} from "../../core/registry/reference.js";
import type { Logger } from "../../core/log.js";
import { storedManifest } from "./image-archive.js";
import type { ImageRecord, ImageStore } from "./image-store.js";

export interface PushProgress {
  blob: string;
  status: "waiting" | "pushing" | "exists" | "mounted" | "complete" | "done";
  current: number;
  total: number;
}

export interface PushOptions {
  auth?: AuthConfigInput;
  signal?: AbortSignal;
  onProgress?: (p: PushProgress) => void;
}

export interface PushDeps {
  content: LocalContentStore;
  images: ImageStore;
  registry: RegistryClient;
  log: Logger;
}

/** A repository of `ref`'s registry, other than ref's, where this node saw `digest`. */
function mountSource(images: ImageStore, ref: Reference, digest: string): string | undefined {
  for (const image of images.list()) {
    const has = image.id === digest || image.layers.some((l) => l.digest === digest);
    if (!has) continue;
    for (const name of image.names) {
      let other: Reference;
      try {
        other = parseReference(name);
      } catch {
        continue;
      }
      if (other.domain === ref.domain && other.path !== ref.path) return other.path;
    }
  }
  return undefined;
}

export async function pushImage(
  deps: PushDeps,
  image: ImageRecord,
  target: string,
  options: PushOptions = {},
): Promise<{ digest: string; name: string }> {
  const progress = options.onProgress ?? (() => undefined);
  const parsed = parseReference(target);
  const ref = withObject(parsed, { tag: parsed.tag ?? "latest" });
  const request: RequestOptions = {};
  if (options.auth) request.auth = options.auth;
  if (options.signal) request.signal = options.signal;
  const m = await storedManifest(deps.content, image);
  const blobs = [...m.manifest.layers, m.manifest.config];
  for (const b of blobs) progress({ blob: b.digest, status: "waiting", current: 0, total: b.size });
  for (const desc of blobs) {
    let current = 0;
    const content = deps.content;
    const open = (): Readable => {
      current = 0;
      async function* bytes(): AsyncGenerator<Buffer> {
        const source = await content.reader(desc.digest);
        for await (const chunk of source) {
          const buf = chunk as Buffer;
          current += buf.length;
          progress({ blob: desc.digest, status: "pushing", current, total: desc.size });
          yield buf;
        }
      }
      return Readable.from(bytes(), { objectMode: false });
    };
    const mountFrom = mountSource(deps.images, ref, desc.digest);
    const outcome = await deps.registry.pushBlob(ref, desc, open, {
      ...request,
      ...(mountFrom ? { mountFrom } : {}),
    });
    const status = outcome === "uploaded" ? "complete" : outcome;
    progress({ blob: desc.digest, status, current: desc.size, total: desc.size });
  }
  const digest = await deps.registry.pushManifest(ref, m.bytes, m.mediaType, request);
  const name = `${repositoryName(ref)}@${digest}`;
  deps.images.save(image, [name]);
  progress({ blob: "", status: "done", current: 0, total: 0 });
  deps.log.info(
    { image: image.id, target: `${repositoryName(ref)}:${ref.tag}`, digest },
    "image pushed",
  );
  return { digest, name };
}
