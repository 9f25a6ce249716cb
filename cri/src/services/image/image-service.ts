/**
 * The node's images: pull (registry → content store → layer snapshots → image record),
 * look-up by name, id, short id or repo digest, list, tag, untag, remove (refused while
 * a container uses the image) and the image filesystem's usage.
 *
 * Pull is all-or-nothing: blobs are verified before they are visible (content store),
 * layers are committed only when digest and diff id match (layer applier), and the image
 * record is written last, in one transaction. Concurrent pulls of one reference share
 * one pull; concurrent pulls of images sharing a layer share its download.
 */
import { pipeline, Transform, type Readable } from "node:stream";
import type { LocalContentStore } from "../../core/content/local-store.js";
import type { Lease } from "../../core/content/content-store.js";
import { SkiffError, failedPrecondition, invalidArgument } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { RegistryClient, RequestOptions } from "../../core/registry/client.js";
import type { AuthConfigInput } from "../../core/registry/credentials.js";
import type { Descriptor } from "../../core/registry/manifest.js";
import {
  formatReference,
  parseReference,
  repositoryName,
  withObject,
  type Reference,
} from "../../core/registry/reference.js";
import type { OverlaySnapshotter } from "../../core/snapshots/overlay.js";
import type { Usage } from "../../core/snapshots/snapshotter.js";
import { chainIds } from "../../core/unpack/chain-id.js";
import type { LayerApplier } from "../../core/unpack/layer-apply.js";
import { ImageStore, type ImageConfigFile, type ImageRecord } from "./image-store.js";
import { ImageArchives, type ArchiveFormat } from "./image-archives.js";
import { pushImage, type PushOptions } from "./image-push.js";

/** Downloaded bytes a layer may have on their way to the content store (the unpack has them). */
const maxQueuedWrites = 1024 * 1024;
import type { Store } from "../../core/store/store.js";

export interface PullProgress {
  /** Blob digest, or "" for whole-image events. */
  blob: string;
  status: "resolving" | "waiting" | "downloading" | "exists" | "complete" | "done";
  current: number;
  total: number;
}

export interface PullOptions {
  auth?: AuthConfigInput;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
}

export interface ImageServiceOptions {
  store: Store;
  content: LocalContentStore;
  snapshotter: OverlaySnapshotter;
  registry: RegistryClient;
  applier: LayerApplier;
  log: Logger;
  /** Where the snapshots live (ImageFsInfo's mountpoint). */
  snapshotsDir: string;
}

export class ImageService {
  readonly images: ImageStore;
  private readonly pulls = new Map<string, Promise<ImageRecord>>();
  private readonly downloads = new Map<string, Promise<void>>();
  /** Answers whether a container uses an image (set by the container service). */
  inUse: (imageId: string) => boolean = () => false;

  constructor(private readonly o: ImageServiceOptions) {
    this.images = new ImageStore(o.store);
  }

  /** Pulls `image` (coalescing with a pull of the same reference in flight). */
  pull(image: string, options: PullOptions = {}): Promise<ImageRecord> {
    const ref = parseReference(image);
    const key = formatReference(ref);
    const running = this.pulls.get(key);
    if (running) return running;
    const pull = this.doPull(ref, options).finally(() => this.pulls.delete(key));
    this.pulls.set(key, pull);
    return pull;
  }

  private async doPull(ref: Reference, options: PullOptions): Promise<ImageRecord> {
    const progress = options.onProgress ?? (() => undefined);
    const session = this.o.registry.newSession();
    const request: RequestOptions = { session };
    if (options.auth) request.auth = options.auth;
    if (options.signal) request.signal = options.signal;
    const started = process.hrtime.bigint();
    progress({ blob: "", status: "resolving", current: 0, total: 0 });
    const resolved = await this.o.registry.resolveImage(ref, request);
    const manifest = resolved.manifest.parsed.manifest;
    const lease = this.o.content.lease();
    try {
      await this.putBytes(resolved.top.digest, resolved.top.bytes, lease);
      if (resolved.manifest.digest !== resolved.top.digest) {
        await this.putBytes(resolved.manifest.digest, resolved.manifest.bytes, lease);
      }
      const config = await this.fetchConfig(ref, manifest.config, request, lease);
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw new SkiffError(
          "DataLoss",
          `pull ${formatReference(ref)}: the config lists ${diffIds.length} diff ids for ${manifest.layers.length} layers`,
        );
      }
      for (const layer of manifest.layers)
        progress({ blob: layer.digest, status: "waiting", current: 0, total: layer.size });
      const layers = manifest.layers.map((desc, i) => ({
        digest: desc.digest,
        diffId: diffIds[i] as string,
        mediaType: desc.mediaType,
        open: () => this.openLayer(ref, desc, request, lease, progress),
        digestChecked: true, // by the content store, as it ingests the download
      }));
      const applyOptions = options.signal ? { signal: options.signal } : {};
      const applied = await this.o.applier.apply(layers, applyOptions);
      for (const [i, a] of applied.entries()) {
        if (!a.unpacked) {
          const size = manifest.layers[i]?.size ?? 0;
          progress({ blob: a.digest, status: "exists", current: size, total: size });
        }
      }
      const names = [`${repositoryName(ref)}@${resolved.top.digest}`];
      if (ref.tag !== undefined) names.unshift(formatReference(withObject(ref, { tag: ref.tag })));
      const record: Omit<ImageRecord, "names"> = {
        id: manifest.config.digest,
        manifestDigest: resolved.top.digest,
        manifestMediaType: resolved.top.mediaType,
        config,
        layers: manifest.layers.map((l, i) => ({
          digest: l.digest,
          diffId: diffIds[i] as string,
          mediaType: l.mediaType,
          size: l.size,
        })),
        topChainId: applied.at(-1)?.chainId ?? "",
        size: manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size,
        pinned: false,
        createdNs: BigInt(Date.now()) * 1_000_000n,
      };
      const { orphaned } = this.o.store.transaction(() => {
        const saved = this.images.save(record, names);
        this.o.content.addRefs(record.id, [
          resolved.top.digest,
          resolved.manifest.digest,
          manifest.config.digest,
          ...manifest.layers.map((l) => l.digest),
        ]);
        return saved;
      });
      for (const id of orphaned) await this.removeData(id);
      progress({ blob: "", status: "done", current: 0, total: 0 });
      this.o.log.info(
        {
          image: formatReference(ref),
          id: record.id,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        "image pulled",
      );
      return this.images.get(record.id) as ImageRecord;
    } finally {
      lease.release();
    }
  }

  private async putBytes(digest: string, bytes: Buffer, lease: Lease): Promise<void> {
    lease.protect(digest);
    try {
      await this.o.content.info(digest);
      return;
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    const writer = await this.o.content.writer({ digest, size: bytes.length });
    try {
      if (writer.offset > 0) {
        await writer.abort();
        return this.putBytes(digest, bytes, lease);
      }
      await writer.write(bytes);
      await writer.commit();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
  }

  private async fetchConfig(
    ref: Reference,
    desc: Descriptor,
    request: RequestOptions,
    lease: Lease,
  ): Promise<ImageConfigFile> {
    lease.protect(desc.digest);
    await this.o.content.ingest({ digest: desc.digest, size: desc.size }, (offset) =>
      this.o.registry.fetchBlob(ref, desc, { ...request, offset }),
    );
    const bytes = await this.o.content.readAt(desc.digest, 0, desc.size);
    try {
      return JSON.parse(bytes.toString("utf8")) as ImageConfigFile;
    } catch (err) {
      throw new SkiffError(
        "DataLoss",
        `pull ${formatReference(ref)}: the image config is not JSON: ${(err as Error).message}`,
      );
    }
  }

  /**
   * A layer's bytes for the applier: from the content store when it has them, else the
   * registry download, written into the content store as it streams (tee).
   */
  private async openLayer(
    ref: Reference,
    desc: Descriptor,
    request: RequestOptions,
    lease: Lease,
    progress: (p: PullProgress) => void,
  ): Promise<Readable> {
    lease.protect(desc.digest);
    const other = this.downloads.get(desc.digest);
    if (other) await other.catch(() => undefined);
    if (await this.has(desc.digest)) {
      progress({ blob: desc.digest, status: "exists", current: desc.size, total: desc.size });
      return this.o.content.reader(desc.digest);
    }
    let writer = await this.o.content.writer({ digest: desc.digest, size: desc.size });
    if (writer.offset > 0) {
      await writer.abort();
      writer = await this.o.content.writer({ digest: desc.digest, size: desc.size });
    }
    let finish: () => void = () => undefined;
    let fail: (err: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    done.catch(() => undefined);
    this.downloads.set(desc.digest, done);
    done.finally(() => this.downloads.delete(desc.digest)).catch(() => undefined);
    let source: Readable;
    try {
      // the content writer checks size and digest (and the unpack checks the digest
      // again): a third hash of the same bytes in the registry client is not needed
      source = await this.o.registry.fetchBlob(ref, desc, { ...request, verify: false });
    } catch (err) {
      await writer.abort().catch(() => undefined);
      fail(err);
      throw err;
    }
    // The bytes go on to the unpack while the content store writes them: writes are
    // queued in order, and the download waits only when maxQueuedWrites are queued.
    let current = 0;
    let queued = 0;
    let writeError: Error | undefined;
    let writes: Promise<void> = Promise.resolve();
    const w = writer;
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (writeError) return callback(writeError);
        queued += chunk.length;
        writes = writes.then(async () => {
          await w.write(chunk);
          queued -= chunk.length;
          current += chunk.length;
          progress({ blob: desc.digest, status: "downloading", current, total: desc.size });
        });
        writes.catch((err: Error) => (writeError ??= err));
        if (queued <= maxQueuedWrites) callback(null, chunk);
        else writes.then(() => callback(null, chunk), callback);
      },
      flush(callback) {
        writes
          .then(() => w.commit())
          .then(() => {
            progress({
              blob: desc.digest,
              status: "complete",
              current: desc.size,
              total: desc.size,
            });
            finish();
            callback();
          }, callback);
      },
    });
    return pipeline(source, tee, (err) => {
      if (err) {
        void w.abort().catch(() => undefined);
        fail(err);
      }
    });
  }

  private async has(digest: string): Promise<boolean> {
    try {
      await this.o.content.info(digest);
      return true;
    } catch (err) {
      if (err instanceof SkiffError && err.kind === "NotFound") return false;
      throw err;
    }
  }

  /**
   * The image a reference names: a full or short id, a name (normalised: "busybox" is
   * docker.io/library/busybox:latest) or a repo digest. undefined when none.
   */
  resolve(text: string): ImageRecord | undefined {
    if (text === "") return undefined;
    const byId = /^(sha256:)?[0-9a-f]{64}$/.test(text)
      ? this.images.get(text.startsWith("sha256:") ? text : `sha256:${text}`)
      : undefined;
    if (byId) return byId;
    let name: string | undefined;
    try {
      name = formatReference(parseReference(text));
    } catch {
      name = undefined;
    }
    const byName = name ? this.images.byName(name) : undefined;
    if (byName) return byName;
    const prefix = text.startsWith("sha256:") ? text : `sha256:${text}`;
    if (/^sha256:[0-9a-f]{3,63}$/.test(prefix)) {
      const matches = this.images.byIdPrefix(prefix);
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw invalidArgument(`image id prefix ${text} is ambiguous`);
    }
    return undefined;
  }

  list(filter?: string): ImageRecord[] {
    if (!filter) return this.images.list();
    const one = this.resolve(filter);
    return one ? [one] : [];
  }

  /** Points a new name at an existing image (docker tag). */
  tag(source: string, target: string): ImageRecord {
    const image = this.resolve(source);
    if (!image) throw new SkiffError("NotFound", `image ${source} not found`);
    const ref = parseReference(target);
    if (ref.digest !== undefined)
      throw invalidArgument(`tag ${target}: a tag cannot carry a digest`);
    const name = formatReference(withObject(ref, { tag: ref.tag ?? "latest" }));
    const { orphaned } = this.images.save(image, [name]);
    for (const id of orphaned) void this.removeData(id);
    return this.images.get(image.id) as ImageRecord;
  }

  /** Removes one name (docker rmi of a tag); the image goes with its last name. */
  async untag(text: string): Promise<{ imageId: string; removed: boolean }> {
    let name: string;
    try {
      name = formatReference(parseReference(text));
    } catch {
      name = text;
    }
    if (!this.images.byName(name)) {
      const image = this.resolve(text);
      if (!image) throw new SkiffError("NotFound", `image ${text} not found`);
      await this.remove(image.id);
      return { imageId: image.id, removed: true };
    }
    const image = this.images.byName(name) as ImageRecord;
    if (image.names.length === 1 && this.inUse(image.id)) {
      throw failedPrecondition(`image ${text} is used by a container; remove the container first`);
    }
    const result = this.images.untag(name) as { imageId: string; orphaned: boolean };
    if (result.orphaned) await this.removeData(result.imageId);
    return { imageId: result.imageId, removed: result.orphaned };
  }

  /** CRI RemoveImage: every name of the image; idempotent; refused while in use. */
  async remove(text: string): Promise<void> {
    const image = this.resolve(text);
    if (!image) return;
    if (this.inUse(image.id)) {
      throw failedPrecondition(
        `image ${text} (${image.id}) is used by a container; remove the container first`,
      );
    }
    await this.removeData(image.id);
  }

  /** Drops the image row, its content references, and layers no other image shares. */
  private async removeData(id: string): Promise<void> {
    const image = this.images.get(id);
    this.o.store.transaction(() => {
      this.images.delete(id);
      this.o.content.removeRefs(id);
    });
    if (!image) return;
    const kept = new Set(
      this.images.list().flatMap((i) => chainIds(i.layers.map((l) => l.diffId))),
    );
    for (const chainId of chainIds(image.layers.map((l) => l.diffId)).reverse()) {
      if (kept.has(chainId)) break;
      try {
        await this.o.snapshotter.remove(chainId);
      } catch (err) {
        if (err instanceof SkiffError && err.kind === "NotFound") continue;
        if (err instanceof SkiffError && err.kind === "FailedPrecondition") break; // a container's snapshot sits on it
        throw err;
      }
    }
    await this.o.content.gc();
    this.o.log.info({ image_id: id }, "image removed");
  }

  /** Pushes the image named `name` to that name's registry; returns the manifest digest. */
  async push(name: string, options: PushOptions = {}): Promise<{ digest: string; name: string }> {
    const image = this.resolve(name);
    if (!image) throw new SkiffError("NotFound", `image ${name} not found`);
    let named: boolean;
    try {
      named = this.images.byName(formatReference(parseReference(name))) !== undefined;
    } catch {
      named = false;
    }
    if (!named)
      throw invalidArgument(`push ${name}: name the image (REGISTRY/REPOSITORY[:TAG]), not its id`);
    const { content, registry, log } = this.o;
    return pushImage({ content, registry, log, images: this.images }, image, name, options);
  }

  /** A tar stream of the images (OCI layout or docker-archive); see image-archives.ts. */
  save(images: string[], format: ArchiveFormat): Readable {
    return this.archives().save(images, format);
  }

  /** Loads an archive; returns the names (or ids of unnamed images) loaded. */
  load(source: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<string[]> {
    return this.archives().load(source, signal);
  }

  private archives(): ImageArchives {
    return new ImageArchives({
      ...this.o,
      images: this.images,
      resolve: (text) => this.resolve(text),
      removeData: (id) => this.removeData(id),
    });
  }

  async fsInfo(): Promise<{ mountpoint: string; images: Usage; containers: Usage }> {
    const usage = await this.o.snapshotter.totalUsage();
    return { mountpoint: this.o.snapshotsDir, images: usage.committed, containers: usage.active };
  }
}
