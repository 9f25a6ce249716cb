/**
 * Applying image layers to snapshots. Per layer:
 *   compressed stream ─► hash (digest, unless checked already) ─► [zstd]
 *     ─► `skiff-shim unpack [--gzip] <dir>` (stdin), which gunzips, hashes the tar (the
 *        diff id, on its stdout) and writes into a staging snapshot's layer dir
 * and the staging snapshot is committed, under the layer's chain id, only when the
 * digest and the diff id both match; on any mismatch or error it is removed. Gzip, the
 * common case, is decompressed and hashed in the unpack process (not in skiff-cri, as
 * DESIGN.md first had it): ~200 MB of decompressed Buffers per large image cost the
 * daemon's one thread and 18-34 mark-compact GCs a pull; zstd is decompressed here.
 *
 * Layers whose chain id is already committed are shared, not unpacked again. The others
 * are extracted concurrently, each into its own parentless staging snapshot (an overlay
 * upper directory does not depend on the layers under it), and committed in order onto
 * their parent chain. Staging snapshots are named "extract-<uuid> <chain id>";
 * removeStaleStaging() clears those a crash left behind.
 */
import { randomUUID } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { hasherFor, parseDigest, type Digest } from "../content/digest.js";
import { SkiffError, SystemError, errnoCode } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import type { Mount, Snapshotter } from "../snapshots/snapshotter.js";
import { launch } from "../shim/launch.js";
import { chainIds } from "./chain-id.js";
import { compressionOf } from "./media-types.js";

export interface Layer {
  /** Digest of the layer blob as the manifest lists it (compressed bytes). */
  digest: Digest;
  /** Uncompressed digest, from the image config's rootfs.diff_ids. */
  diffId: Digest;
  mediaType: string;
  /** Opens the layer's bytes from the start (the content store, or a download). */
  open(): Promise<Readable>;
  /**
   * True when the bytes open() gives were or are being checked against `digest` (the
   * content store verifies what it ingests): the applier then hashes only the diff id.
   */
  digestChecked?: boolean;
}

export interface AppliedLayer {
  digest: Digest;
  diffId: Digest;
  chainId: Digest;
  /** False when the snapshot existed already (shared with another image). */
  unpacked: boolean;
}

export interface LayerApplierOptions {
  snapshotter: Snapshotter;
  /** The unpack command; the target directory is appended. E.g. ["skiff-shim", "unpack"]. */
  command: readonly string[];
  /** Layers extracted at once (default 3). */
  concurrency?: number;
  log?: Logger;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  labels?: Record<string, string>;
}

const stagingPrefix = "extract-";
const noop = (): void => undefined;
const maxOutput = 16 * 1024;

export class LayerApplier {
  private readonly snapshotter: Snapshotter;
  private readonly command: readonly string[];
  private readonly concurrency: number;
  private readonly log: Logger;

  constructor(options: LayerApplierOptions) {
    this.snapshotter = options.snapshotter;
    this.command = options.command;
    this.concurrency = Math.max(1, options.concurrency ?? 3);
    this.log = options.log ?? silentLogger;
  }

  /** Applies `layers` (bottom first); resolves with their chain ids once all are committed. */
  async apply(layers: readonly Layer[], options: ApplyOptions = {}): Promise<AppliedLayer[]> {
    const chain = chainIds(layers.map((l) => l.diffId));
    const present = await Promise.all(chain.map((id) => this.committed(id)));
    const staged: (Promise<string> | undefined)[] = new Array(layers.length);
    let next = 0;
    const slots: Promise<void>[] = [];
    const waiting: (() => void)[] = [];
    let running = 0;
    const acquire = async (): Promise<void> => {
      if (running < this.concurrency) {
        running++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    };
    const release = (): void => {
      const wake = waiting.shift();
      if (wake) wake();
      else running--;
    };
    for (; next < layers.length; next++) {
      if (present[next]) continue;
      const layer = layers[next] as Layer;
      const chainId = chain[next] as Digest;
      const job = (async () => {
        await acquire();
        try {
          return await this.extract(layer, chainId, options);
        } finally {
          release();
        }
      })();
      staged[next] = job;
      slots.push(job.then(noop, noop)); // results and errors are taken below, in order
    }

    const out: AppliedLayer[] = [];
    let failure: unknown;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i] as Layer;
      const chainId = chain[i] as Digest;
      const job = staged[i];
      if (job === undefined) {
        out.push({ digest: layer.digest, diffId: layer.diffId, chainId, unpacked: false });
        continue;
      }
      let key: string;
      try {
        key = await job;
      } catch (err) {
        failure ??= err;
        continue;
      }
      if (failure !== undefined) {
        await this.discard(key);
        continue;
      }
      try {
        const unpacked = await this.commit(
          key,
          chainId,
          i === 0 ? undefined : chain[i - 1],
          options.labels,
        );
        out.push({ digest: layer.digest, diffId: layer.diffId, chainId, unpacked });
      } catch (err) {
        failure = err;
        await this.discard(key);
      }
    }
    await Promise.allSettled(slots);
    if (failure !== undefined) throw failure;
    return out;
  }

  /** Unpacks one layer into a new staging snapshot; returns its key once verified. */
  private async extract(layer: Layer, chainId: Digest, options: ApplyOptions): Promise<string> {
    const key = `${stagingPrefix}${randomUUID()} ${chainId}`;
    const mounts = await this.snapshotter.prepare(key);
    try {
      await this.unpack(layer, layerDir(mounts), options.signal);
      return key;
    } catch (err) {
      await this.discard(key);
      throw err;
    }
  }

  private async commit(
    key: string,
    chainId: Digest,
    parent: Digest | undefined,
    labels: Record<string, string> | undefined,
  ): Promise<boolean> {
    try {
      await this.snapshotter.commit(chainId, key, { parent, labels: labels ?? {} });
      return true;
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "AlreadyExists")) throw err;
      await this.discard(key); // another pull committed the same layer first
      return false;
    }
  }

  private async unpack(layer: Layer, dir: string, signal: AbortSignal | undefined): Promise<void> {
    parseDigest(layer.digest);
    const compression = compressionOf(layer.mediaType);
    const compressed = layer.digestChecked ? undefined : new HashTap(layer.digest);
    // the unpack reports a sha256 diff id; another algorithm is hashed (and gunzipped) here
    const uncompressed =
      parseDigest(layer.diffId).algorithm === "sha256" ? undefined : new HashTap(layer.diffId);
    const [file, ...args] = this.command;
    if (compression === "gzip" && !uncompressed) args.push("--gzip");
    // from skiff-cri's launch pool when it has one: a spawn would block the event loop
    const child = launch(file as string, [...args, dir], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      if (stderr.length < maxOutput) stderr += chunk;
    });
    let stdout = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      if (stdout.length < maxOutput) stdout += chunk;
    });
    let spawnError: Error | undefined;
    const exited = new Promise<number | string>((resolve) => {
      child.on("error", (err) => {
        spawnError = err;
        resolve("not started");
      });
      child.on("close", (code, sig) => resolve(code ?? `killed by ${sig}`));
    });
    const started = Date.now();
    let streamError: unknown;
    try {
      const source = await layer.open();
      const stages: (NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream)[] = [
        source,
      ];
      if (compressed) stages.push(compressed);
      if (compression === "gzip" && uncompressed)
        stages.push(createGunzip({ chunkSize: 256 * 1024 }));
      if (compression === "zstd") stages.push(createZstdDecompress({ chunkSize: 256 * 1024 }));
      if (uncompressed) stages.push(uncompressed);
      stages.push(child.stdin!);
      await pipeline(stages, { signal });
    } catch (err) {
      streamError = err;
      child.kill("SIGKILL");
    }
    const status = await exited;
    // The child exited by itself (we only kill it after a stream error): its message wins,
    // unless the bytes were bad before they reached it (zlib, the source's own errors).
    const refusal =
      typeof status === "number" && status !== 0
        ? stderr.trim() || `unpack exited with ${status}`
        : undefined;
    if (spawnError !== undefined) throw new SystemError("run unpack", file as string, spawnError);
    const zlibError = /^Z_/.test(errnoCode(streamError) ?? "");
    if (refusal !== undefined && !zlibError && !(streamError instanceof SkiffError)) {
      const kind = /archive truncated|: gzip: /.test(refusal) ? "DataLoss" : "InvalidArgument";
      throw new SkiffError(kind, `layer ${layer.digest} refused: ${refusal}`);
    }
    if (streamError !== undefined) {
      if (streamError instanceof SkiffError) throw streamError;
      if ((streamError as Error).name === "AbortError") throw streamError;
      throw new SkiffError("DataLoss", `layer ${layer.digest}: ${(streamError as Error).message}`, {
        cause: streamError,
      });
    }
    if (status !== 0)
      throw new SkiffError("Internal", `layer ${layer.digest}: unpack ${String(status)}`);
    if (compressed && compressed.digest() !== layer.digest) {
      throw new SkiffError(
        "DataLoss",
        `layer ${layer.digest}: the blob hashes to ${compressed.digest()}`,
      );
    }
    const diffId = uncompressed ? uncompressed.digest() : stdout.trim();
    if (diffId !== layer.diffId) {
      throw new SkiffError(
        "DataLoss",
        `layer ${layer.digest}: diff id is ${diffId || "(not reported)"}, the image config says ${layer.diffId}`,
      );
    }
    this.log.debug({ digest: layer.digest, ms: Date.now() - started }, "layer unpacked");
  }

  private async committed(chainId: Digest): Promise<boolean> {
    try {
      return (await this.snapshotter.stat(chainId)).kind === "committed";
    } catch (err) {
      if (err instanceof SkiffError && err.kind === "NotFound") return false;
      throw err;
    }
  }

  private async discard(key: string): Promise<void> {
    try {
      await this.snapshotter.remove(key);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) {
        this.log.warn({ key, err: String(err) }, "cannot remove staging snapshot");
      }
    }
  }
}

/** Removes staging snapshots a crashed process left (call at startup, before pulls). */
export async function removeStaleStaging(snapshotter: Snapshotter): Promise<string[]> {
  const removed: string[] = [];
  for (const info of await snapshotter.list()) {
    if (info.kind === "active" && info.name.startsWith(stagingPrefix)) {
      await snapshotter.remove(info.name);
      removed.push(info.name);
    }
  }
  return removed;
}

/** The directory an unpack writes to: the upper dir of an overlay, or a rw bind's source. */
export function layerDir(mounts: readonly Mount[]): string {
  const [mount] = mounts;
  if (mounts.length === 1 && mount !== undefined) {
    if (mount.type === "overlay") {
      const upper = mount.options.find((o) => o.startsWith("upperdir="));
      if (upper) return upper.slice("upperdir=".length);
    }
    if (mount.type === "bind" && !mount.options.includes("ro")) return mount.source;
  }
  throw new SkiffError("Internal", `cannot unpack into mounts ${JSON.stringify(mounts)}`);
}

/** A pass-through that hashes what flows by. */
class HashTap extends Transform {
  bytes = 0;
  private readonly hash;
  private readonly algorithm: string;
  private result: string | undefined;

  constructor(digest: Digest) {
    super();
    this.hash = hasherFor(digest);
    this.algorithm = parseDigest(digest).algorithm;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    this.result ??= `${this.algorithm}:${this.hash.digest("hex")}`;
    return this.result;
  }
}
