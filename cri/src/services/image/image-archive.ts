/**
 * Image archives, as `docker save` / `docker load` and the OCI image layout write them:
 *
 *   OCI layout (image-spec image-layout.md): oci-layout, index.json (one descriptor per
 *     name, annotated io.containerd.image.name = full name and
 *     org.opencontainers.image.ref.name = tag), blobs/sha256/<hex> for manifests,
 *     configs and layers (as the registry served them).
 *   docker-archive: manifest.json ([{Config, RepoTags, Layers}] with paths inside the
 *     archive) and the blobs it points at (blobs/sha256/<hex>, as Docker 25+ writes;
 *     older `<id>.json` + `<dir>/layer.tar` archives load too).
 *
 * Load verifies every blob before it is visible: blobs named by digest go through the
 * content store's verified writer; a docker-archive's layers are hashed as read and
 * their uncompressed digest checked against the config's diff_ids by the layer applier.
 * Nothing is recorded unless every image of the archive was read whole.
 */
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { LocalContentStore } from "../../core/content/local-store.js";
import type { Lease } from "../../core/content/content-store.js";
import { SkiffError, invalidArgument } from "../../core/errors.js";
import {
  imageManifestMediaTypes,
  indexMediaTypes,
  mediaTypes,
  nodePlatform,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
} from "../../core/registry/manifest.js";
import { digestOf, sha256Digest } from "../../core/registry/digest.js";
import {
  familiarReference,
  formatReference,
  parseReference,
  withObject,
} from "../../core/registry/reference.js";
import { TarWriter } from "../../core/archive/tar-writer.js";
import type { ImageConfigFile, ImageRecord } from "./image-store.js";
import { indexTar, type TarFileEntry } from "./tar-index.js";

export type ArchiveFormat = "oci" | "docker";

/** The image manifest of a record (the platform's manifest when the record names an index). */
export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
}

export async function storedManifest(
  content: LocalContentStore,
  image: ImageRecord,
): Promise<StoredManifest> {
  const read = async (digest: string): Promise<Buffer> => {
    const info = await content.info(digest);
    return content.readAt(digest, 0, info.size);
  };
  const what = `image ${image.id}`;
  const top = await read(image.manifestDigest);
  const parsed = parseManifest(top, image.manifestMediaType, what);
  if (parsed.kind === "manifest") {
    return {
      digest: image.manifestDigest,
      mediaType: parsed.mediaType,
      bytes: top,
      manifest: parsed.manifest,
    };
  }
  for (const entry of parsed.index.manifests) {
    let bytes: Buffer;
    try {
      bytes = await read(entry.digest);
    } catch {
      continue;
    }
    const one = parseManifest(bytes, entry.mediaType, what);
    if (one.kind === "manifest" && one.manifest.config.digest === image.id) {
      return { digest: entry.digest, mediaType: one.mediaType, bytes, manifest: one.manifest };
    }
  }
  throw new SkiffError("NotFound", `${what}: its manifest is not in the content store`);
}

export interface SaveItem {
  image: ImageRecord;
  /** Full names (domain/path:tag) to record in the archive. */
  names: string[];
}

const blobPath = (digest: string): string => `blobs/${digest.replace(":", "/")}`;

/** Writes `items` as one archive into `tar`, then finishes it. */
export async function writeArchive(
  content: LocalContentStore,
  items: SaveItem[],
  format: ArchiveFormat,
  tar: TarWriter,
): Promise<void> {
  const written = new Set<string>();
  const addBlob = async (digest: string, bytes?: Buffer): Promise<void> => {
    if (written.has(digest)) return;
    written.add(digest);
    const info = await content.info(digest);
    const header = { name: blobPath(digest), type: "file" as const, size: info.size, mode: 0o444 };
    await tar.add(header, bytes ?? (await content.reader(digest)));
  };
  await tar.add({ name: "blobs", type: "directory" });
  await tar.add({ name: "blobs/sha256", type: "directory" });
  const index: Descriptor[] = [];
  const dockerManifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const { image, names } of items) {
    const m = await storedManifest(content, image);
    for (const layer of m.manifest.layers) await addBlob(layer.digest);
    await addBlob(m.manifest.config.digest);
    await addBlob(m.digest, m.bytes);
    const descriptor: Descriptor = {
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.bytes.length,
    };
    if (names.length === 0) index.push(descriptor);
    for (const name of names) {
      const tag = parseReference(name).tag ?? "latest";
      index.push({
        ...descriptor,
        annotations: {
          "io.containerd.image.name": name,
          "org.opencontainers.image.ref.name": tag,
        },
      });
    }
    dockerManifest.push({
      Config: blobPath(m.manifest.config.digest),
      RepoTags: names.map((n) => familiarReference(parseReference(n))),
      Layers: m.manifest.layers.map((l) => blobPath(l.digest)),
    });
  }
  if (format === "oci") {
    await tar.add({ name: "oci-layout", type: "file" }, '{"imageLayoutVersion":"1.0.0"}');
    await tar.add(
      { name: "index.json", type: "file" },
      JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: index }),
    );
  } else {
    await tar.add({ name: "manifest.json", type: "file" }, JSON.stringify(dockerManifest));
  }
  await tar.finish();
}

/** One image read from an archive, its blobs in the content store, its layers not yet applied. */
export interface ArchiveImage {
  manifestDigest: string;
  manifestMediaType: string;
  manifest: ImageManifest;
  config: ImageConfigFile;
  names: string[];
}

interface Reader {
  entries: Map<string, TarFileEntry>;
  file: string;
}

function entry(reader: Reader, name: string): TarFileEntry {
  const found = reader.entries.get(name.replace(/^(\.\/)+/, ""));
  if (!found) throw invalidArgument(`archive: ${name} is missing`);
  return found;
}

function stream(reader: Reader, e: TarFileEntry): Readable {
  return createReadStream(reader.file, { start: e.offset, end: e.offset + e.size - 1 });
}

async function readEntry(reader: Reader, e: TarFileEntry, limit = 16 << 20): Promise<Buffer> {
  if (e.size > limit) throw invalidArgument(`archive: ${e.name} is too large (${e.size} bytes)`);
  if (e.size === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const chunk of stream(reader, e)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function hashEntry(reader: Reader, e: TarFileEntry): Promise<string> {
  const hash = createHash("sha256");
  if (e.size > 0) for await (const chunk of stream(reader, e)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

async function has(content: LocalContentStore, digest: string): Promise<boolean> {
  try {
    await content.info(digest);
    return true;
  } catch (err) {
    if (err instanceof SkiffError && err.kind === "NotFound") return false;
    throw err;
  }
}

/** Copies an archive entry into the content store as `digest`; the writer verifies it. */
async function ingestEntry(
  content: LocalContentStore,
  lease: Lease,
  reader: Reader,
  e: TarFileEntry,
  digest: string,
): Promise<void> {
  lease.protect(digest);
  if (await has(content, digest)) return;
  let writer = await content.writer({ digest, size: e.size });
  if (writer.offset > 0) {
    await writer.abort();
    writer = await content.writer({ digest, size: e.size });
  }
  try {
    if (e.size > 0)
      for await (const chunk of stream(reader, e)) await writer.write(chunk as Buffer);
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    if (err instanceof SkiffError && err.kind === "DataLoss")
      throw new SkiffError("DataLoss", `archive: ${e.name}: ${err.message}`);
    throw err;
  }
}

function normaliseName(name: string): string {
  const ref = parseReference(name);
  if (ref.digest !== undefined && ref.tag === undefined)
    throw invalidArgument(`archive: image name ${name} is a digest, not a tag`);
  return formatReference(withObject(ref, { tag: ref.tag ?? "latest" }));
}

function parseConfig(bytes: Buffer, what: string): ImageConfigFile {
  try {
    return JSON.parse(bytes.toString("utf8")) as ImageConfigFile;
  } catch (err) {
    throw new SkiffError("DataLoss", `archive: ${what} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads the archive at `file` (OCI layout, or docker-archive when there is no
 * index.json): puts its blobs in the content store (protected by `lease`) and returns
 * the images it holds.
 */
export async function readArchive(
  content: LocalContentStore,
  lease: Lease,
  file: string,
): Promise<ArchiveImage[]> {
  const reader: Reader = { file, entries: await indexTar(file) };
  if (reader.entries.has("index.json")) return readOciLayout(content, lease, reader);
  if (reader.entries.has("manifest.json")) return readDockerArchive(content, lease, reader);
  throw invalidArgument("archive: neither index.json (OCI layout) nor manifest.json (docker save)");
}

async function readBlob(reader: Reader, digest: string): Promise<Buffer> {
  const bytes = await readEntry(reader, entry(reader, blobPath(digest)));
  const actual = digestOf(digest, bytes);
  if (actual !== digest)
    throw new SkiffError("DataLoss", `archive: blob ${digest} hashes to ${actual}`);
  return bytes;
}

async function readOciLayout(
  content: LocalContentStore,
  lease: Lease,
  reader: Reader,
): Promise<ArchiveImage[]> {
  const indexBytes = await readEntry(reader, entry(reader, "index.json"));
  const top = parseManifest(indexBytes, mediaTypes.ociIndex, "archive index.json");
  if (top.kind !== "index") throw invalidArgument("archive: index.json is not an image index");
  const byDigest = new Map<string, ArchiveImage>();
  for (const desc of top.index.manifests) {
    let name: string | undefined;
    const full = desc.annotations?.["io.containerd.image.name"];
    const refName = desc.annotations?.["org.opencontainers.image.ref.name"];
    if (full) name = normaliseName(full);
    else if (refName && /[/:]/.test(refName)) name = normaliseName(refName);
    let manifestDesc = desc;
    let bytes = await readBlob(reader, desc.digest);
    if (indexMediaTypes.includes(desc.mediaType)) {
      const nested = parseManifest(bytes, desc.mediaType, `archive blob ${desc.digest}`);
      if (nested.kind !== "index") throw invalidArgument(`archive: ${desc.digest} is no index`);
      manifestDesc = selectPlatform(nested.index, nodePlatform(), `archive ${desc.digest}`);
      bytes = await readBlob(reader, manifestDesc.digest);
    } else if (!imageManifestMediaTypes.includes(desc.mediaType)) {
      continue; // an artifact that is not an image
    }
    const existing = byDigest.get(manifestDesc.digest);
    if (existing) {
      if (name && !existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    const parsed = parseManifest(bytes, manifestDesc.mediaType, `archive ${manifestDesc.digest}`);
    if (parsed.kind !== "manifest")
      throw invalidArgument(`archive: ${manifestDesc.digest} is no image`);
    const manifest = parsed.manifest;
    const configBytes = await readBlob(reader, manifest.config.digest);
    for (const blob of [manifest.config, ...manifest.layers])
      await ingestEntry(content, lease, reader, entry(reader, blobPath(blob.digest)), blob.digest);
    lease.protect(manifestDesc.digest);
    await putBytes(content, manifestDesc.digest, bytes);
    byDigest.set(manifestDesc.digest, {
      manifestDigest: manifestDesc.digest,
      manifestMediaType: parsed.mediaType,
      manifest,
      config: parseConfig(configBytes, manifest.config.digest),
      names: name ? [name] : [],
    });
  }
  if (byDigest.size === 0) throw invalidArgument("archive: index.json lists no image");
  return [...byDigest.values()];
}

function layerMediaType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return mediaTypes.dockerLayerGzip;
  if (head.readUInt32LE(0) === 0xfd2fb528) return mediaTypes.ociLayerZstd;
  return "application/vnd.docker.image.rootfs.diff.tar";
}

async function readHead(reader: Reader, e: TarFileEntry): Promise<Buffer> {
  const head = Buffer.alloc(4);
  if (e.size < 4) return head;
  for await (const chunk of createReadStream(reader.file, { start: e.offset, end: e.offset + 3 }))
    (chunk as Buffer).copy(head);
  return head;
}

async function readDockerArchive(
  content: LocalContentStore,
  lease: Lease,
  reader: Reader,
): Promise<ArchiveImage[]> {
  const text = (await readEntry(reader, entry(reader, "manifest.json"))).toString("utf8");
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`archive: manifest.json is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0)
    throw invalidArgument("archive: manifest.json lists no image");
  const images: ArchiveImage[] = [];
  for (const item of list as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
    if (typeof item.Config !== "string" || !Array.isArray(item.Layers))
      throw invalidArgument("archive: a manifest.json entry lacks Config or Layers");
    const configEntry = entry(reader, item.Config);
    const configBytes = await readEntry(reader, configEntry);
    const configDigest = sha256Digest(configBytes);
    const config = parseConfig(configBytes, item.Config);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== item.Layers.length) {
      throw new SkiffError(
        "DataLoss",
        `archive: ${item.Config} lists ${diffIds.length} diff ids for ${item.Layers.length} layers`,
      );
    }
    await ingestEntry(content, lease, reader, configEntry, configDigest);
    const layers: Descriptor[] = [];
    for (const path of item.Layers) {
      if (typeof path !== "string") throw invalidArgument("archive: a layer path is not a string");
      const e = entry(reader, path);
      const digest = await hashEntry(reader, e);
      await ingestEntry(content, lease, reader, e, digest);
      layers.push({ mediaType: layerMediaType(await readHead(reader, e)), digest, size: e.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: {
        mediaType: mediaTypes.dockerConfig,
        digest: configDigest,
        size: configBytes.length,
      },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256Digest(bytes);
    lease.protect(digest);
    await putBytes(content, digest, bytes);
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags : [];
    images.push({
      manifestDigest: digest,
      manifestMediaType: mediaTypes.dockerManifest,
      manifest,
      config,
      names: tags.filter((t): t is string => typeof t === "string").map(normaliseName),
    });
  }
  return images;
}

async function putBytes(content: LocalContentStore, digest: string, bytes: Buffer): Promise<void> {
  if (await has(content, digest)) return;
  let writer = await content.writer({ digest, size: bytes.length });
  if (writer.offset > 0) {
    await writer.abort();
    writer = await content.writer({ digest, size: bytes.length });
  }
  try {
    await writer.write(bytes);
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}
