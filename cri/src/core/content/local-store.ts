/**
 * The content store on the local filesystem:
 *   <root>/content/blobs/<alg>/<hex>   committed blobs, immutable, read-only (0444)
 *   <root>/content/ingest/<alg>-<hex>  partial ingests (one per digest)
 * and references in the SQLite store (table content_refs: owner → digest).
 *
 * Invariants: a blob file exists only with verified bytes (write to ingest/, hash while
 * writing, check digest and size, fsync, rename, fsync the directory), so a crash at any
 * point leaves at most an ingest file, which open() sweeps (one skiff-cri owns a root).
 * One writer per digest at a time; ingest() coalesces concurrent fetches of a digest.
 * Garbage collection removes blobs no owner references, except those an open lease or a
 * running ingest protects.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Hash } from "node:crypto";
import { SkiffError, SystemError, errnoCode, notFound, unavailable } from "../errors.js";
import { silentLogger, type Logger } from "../log.js";
import type { Store } from "../store/store.js";
import type {
  BlobInfo,
  BlobSource,
  ContentStore,
  Descriptor,
  GcResult,
  IngestOptions,
  Lease,
  Writer,
} from "./content-store.js";
import { hasherFor, parseDigest, type Digest } from "./digest.js";

export class LocalContentStore implements ContentStore {
  private readonly blobsDir: string;
  private readonly ingestDir: string;
  private readonly writers = new Set<Digest>();
  private readonly inflight = new Map<Digest, Promise<BlobInfo>>();
  private readonly leases = new Set<Set<Digest>>();

  private constructor(
    root: string,
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    this.blobsDir = join(root, "content", "blobs");
    this.ingestDir = join(root, "content", "ingest");
  }

  /** Opens the store under `root`, removing ingests a previous process left. */
  static async open(
    root: string,
    store: Store,
    log: Logger = silentLogger,
  ): Promise<LocalContentStore> {
    const cs = new LocalContentStore(root, store, log);
    try {
      await mkdir(join(cs.blobsDir, "sha256"), { recursive: true, mode: 0o700 });
      await mkdir(cs.ingestDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new SystemError("create content store", root, err);
    }
    const stale = await readdir(cs.ingestDir);
    for (const name of stale) await rm(join(cs.ingestDir, name), { force: true, recursive: true });
    if (stale.length > 0) log.info({ count: stale.length }, "removed stale content ingests");
    return cs;
  }

  blobPath(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.blobsDir, algorithm, hex);
  }

  ingestPath(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.ingestDir, `${algorithm}-${hex}`);
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const path = this.blobPath(digest);
    try {
      const st = await stat(path);
      return { digest, size: st.size, createdAt: st.mtimeMs };
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw notFound(`content ${digest} not found`);
      throw new SystemError("stat blob", path, err);
    }
  }

  async reader(digest: Digest, offset = 0): Promise<Readable> {
    const path = this.blobPath(digest);
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw notFound(`content ${digest} not found`);
      throw new SystemError("open blob", path, err);
    }
    return fh.createReadStream({ start: offset, highWaterMark: 256 * 1024 });
  }

  async readAt(digest: Digest, offset: number, length: number): Promise<Buffer> {
    const path = this.blobPath(digest);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, "r");
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw notFound(`content ${digest} not found`);
      throw new SystemError("read blob", path, err);
    } finally {
      await fh?.close();
    }
  }

  async writer(descriptor: Descriptor): Promise<Writer> {
    const path = this.ingestPath(descriptor.digest);
    if (this.writers.has(descriptor.digest)) {
      throw unavailable(`content ${descriptor.digest} is being written`);
    }
    this.writers.add(descriptor.digest);
    try {
      return await IngestWriter.open(descriptor, path, this.blobPath(descriptor.digest), () =>
        this.writers.delete(descriptor.digest),
      );
    } catch (err) {
      this.writers.delete(descriptor.digest);
      throw err;
    }
  }

  ingest(
    descriptor: Descriptor,
    source: BlobSource,
    options: IngestOptions = {},
  ): Promise<BlobInfo> {
    parseDigest(descriptor.digest);
    options.lease?.protect(descriptor.digest);
    const running = this.inflight.get(descriptor.digest);
    if (running) return running;
    const done = this.fetch(descriptor, source, options.retries ?? 3).finally(() =>
      this.inflight.delete(descriptor.digest),
    );
    this.inflight.set(descriptor.digest, done);
    return done;
  }

  private async fetch(
    descriptor: Descriptor,
    source: BlobSource,
    retries: number,
  ): Promise<BlobInfo> {
    try {
      return await this.info(descriptor.digest);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    const writer = await this.writer(descriptor);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const stream = await source(writer.offset);
          for await (const chunk of stream) await writer.write(chunk as Buffer);
          if (descriptor.size === undefined || writer.offset >= descriptor.size) break;
          throw unavailable(
            `content ${descriptor.digest}: source ended at ${writer.offset} of ${descriptor.size} bytes`,
          );
        } catch (err) {
          const fatal = err instanceof SkiffError && err.kind !== "Unavailable";
          if (fatal || attempt >= retries) throw err;
          this.log.warn(
            { digest: descriptor.digest, offset: writer.offset, err: String(err) },
            "blob source broke; resuming",
          );
        }
      }
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const algorithm of await readdir(this.blobsDir)) {
      for (const hex of await readdir(join(this.blobsDir, algorithm))) {
        const digest = `${algorithm}:${hex}`;
        try {
          out.push(await this.info(digest));
        } catch {
          // a foreign file or a blob deleted meanwhile: not content
        }
      }
    }
    return out;
  }

  async delete(digest: Digest): Promise<void> {
    const path = this.blobPath(digest);
    try {
      await unlink(path);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw new SystemError("delete blob", path, err);
    }
  }

  addRefs(owner: string, digests: Digest[]): void {
    for (const digest of digests) parseDigest(digest);
    this.store.transaction(() => {
      for (const digest of digests) {
        this.store.run(
          "INSERT OR IGNORE INTO content_refs (owner, digest) VALUES (?, ?)",
          owner,
          digest,
        );
      }
    });
  }

  removeRefs(owner: string): void {
    this.store.run("DELETE FROM content_refs WHERE owner = ?", owner);
  }

  refs(digest: Digest): string[] {
    return this.store
      .all("SELECT owner FROM content_refs WHERE digest = ? ORDER BY owner", digest)
      .map((row) => String(row["owner"]));
  }

  lease(): Lease {
    const digests = new Set<Digest>();
    this.leases.add(digests);
    return {
      protect: (digest) => void digests.add(digest),
      release: () => void this.leases.delete(digests),
    };
  }

  async gc(): Promise<GcResult> {
    const referenced = new Set(
      this.store
        .all("SELECT DISTINCT digest FROM content_refs")
        .map((row) => String(row["digest"])),
    );
    const result: GcResult = { removed: [], bytes: 0 };
    for (const blob of await this.list()) {
      if (
        referenced.has(blob.digest) ||
        this.inflight.has(blob.digest) ||
        this.writers.has(blob.digest)
      ) {
        continue;
      }
      if ([...this.leases].some((lease) => lease.has(blob.digest))) continue;
      await this.delete(blob.digest);
      result.removed.push(blob.digest);
      result.bytes += blob.size;
    }
    if (result.removed.length > 0)
      this.log.info({ count: result.removed.length, bytes: result.bytes }, "content gc");
    return result;
  }
}

class IngestWriter implements Writer {
  private written = 0;
  private finished = false;

  private constructor(
    readonly descriptor: Descriptor,
    private readonly path: string,
    private readonly target: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private readonly release: () => void,
  ) {}

  static async open(
    descriptor: Descriptor,
    path: string,
    target: string,
    release: () => void,
  ): Promise<IngestWriter> {
    const hash = hasherFor(descriptor.digest);
    let fh: FileHandle;
    try {
      fh = await open(path, "a+", 0o600);
    } catch (err) {
      throw new SystemError("open ingest", path, err);
    }
    const writer = new IngestWriter(descriptor, path, target, fh, hash, release);
    try {
      let size = (await fh.stat()).size;
      if (descriptor.size !== undefined && size > descriptor.size) {
        await fh.truncate(0);
        size = 0;
      }
      if (size > 0) {
        // resume: the hash must cover the bytes already there
        for await (const chunk of createReadStream(path, { start: 0, end: size - 1 })) {
          hash.update(chunk as Buffer);
        }
      }
      writer.written = size;
    } catch (err) {
      await fh.close();
      release();
      throw new SystemError("resume ingest", path, err);
    }
    return writer;
  }

  get offset(): number {
    return this.written;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.finished) throw new Error(`writer of ${this.descriptor.digest} is closed`);
    const { size, digest } = this.descriptor;
    if (size !== undefined && this.written + chunk.length > size) {
      throw new SkiffError("DataLoss", `content ${digest}: more than the expected ${size} bytes`);
    }
    this.hash.update(chunk);
    let done = 0;
    try {
      while (done < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    } catch (err) {
      throw new SystemError("write ingest", this.path, err);
    } finally {
      this.written += done;
    }
  }

  async commit(): Promise<BlobInfo> {
    const { size, digest } = this.descriptor;
    if (size !== undefined && this.written !== size) {
      await this.abort();
      throw new SkiffError(
        "DataLoss",
        `content ${digest}: got ${this.written} bytes, expected ${size}`,
      );
    }
    const actual = `${parseDigest(digest).algorithm}:${this.hash.digest("hex")}`;
    if (actual !== digest) {
      await this.abort();
      throw new SkiffError("DataLoss", `content ${digest}: the data hashes to ${actual}`);
    }
    try {
      await this.fh.chmod(0o444);
      await this.fh.sync();
      // The digest stays ours until the rename is done: a writer let in earlier would
      // open this same ingest file and find it renamed away under it.
      await this.finish(false);
      await mkdir(join(this.target, ".."), { recursive: true, mode: 0o700 });
      await rename(this.path, this.target);
      await syncDir(join(this.target, ".."));
    } catch (err) {
      await rm(this.path, { force: true });
      throw new SystemError("commit blob", this.target, err);
    } finally {
      this.release();
    }
    return { digest, size: this.written, createdAt: Date.now() };
  }

  async abort(): Promise<void> {
    await this.finish();
    await rm(this.path, { force: true });
  }

  async close(): Promise<void> {
    await this.finish();
  }

  private async finish(release = true): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (release) this.release();
    await this.fh.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
