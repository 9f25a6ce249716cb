/**
 * The content store's interfaces, split as containerd splits them: a Provider reads
 * blobs, an Ingester writes them, a Manager lists, references and deletes them. Blobs
 * are immutable and named by their digest; a blob is visible only once its bytes were
 * verified against the digest and size it was written for.
 */
import type { Readable } from "node:stream";
import type { Digest } from "./digest.js";

export interface Descriptor {
  digest: Digest;
  /** Expected size in bytes; when given, commit refuses any other size. */
  size?: number;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
  /** When the blob was committed, in ms since the epoch. */
  createdAt: number;
}

export interface Provider {
  /** NotFound when the blob is absent. */
  info(digest: Digest): Promise<BlobInfo>;
  /** The blob's bytes from `offset` (default 0); NotFound when absent. */
  reader(digest: Digest, offset?: number): Promise<Readable>;
  /** Reads `length` bytes at `offset` (random access, for small reads). */
  readAt(digest: Digest, offset: number, length: number): Promise<Buffer>;
}

/** An ingest in progress: bytes are hashed as they are written. */
export interface Writer {
  readonly descriptor: Descriptor;
  /** Bytes written so far (where a Range request resumes). */
  readonly offset: number;
  write(chunk: Buffer): Promise<void>;
  /**
   * Verifies size and digest, makes the data durable and the blob visible atomically.
   * DataLoss on a mismatch (the partial data is discarded); the blob existing already
   * is not an error.
   */
  commit(): Promise<BlobInfo>;
  /** Discards the partial data. */
  abort(): Promise<void>;
  /** Releases the writer but keeps the partial data for a later resume. */
  close(): Promise<void>;
}

/** Opens the source of a blob at `offset` (a registry GET with a Range header). */
export type BlobSource = (offset: number) => Promise<Readable>;

export interface IngestOptions {
  /** How many times a broken source is reopened at the current offset (default 3). */
  retries?: number;
  /** Protects the blob from garbage collection until the lease is released. */
  lease?: Lease;
}

export interface Ingester {
  /**
   * Opens a writer for `descriptor`, resuming a partial ingest of the same digest.
   * Unavailable while another writer of this digest is open.
   */
  writer(descriptor: Descriptor): Promise<Writer>;
  /**
   * Fetches a blob unless present: pulls `source` through a writer, reopening it at the
   * current offset when it breaks. Concurrent calls for one digest share one download.
   */
  ingest(descriptor: Descriptor, source: BlobSource, options?: IngestOptions): Promise<BlobInfo>;
}

/** Digests that garbage collection must keep while some work is using them. */
export interface Lease {
  protect(digest: Digest): void;
  release(): void;
}

export interface GcResult {
  removed: Digest[];
  bytes: number;
}

export interface Manager {
  list(): Promise<BlobInfo[]>;
  /** Idempotent. */
  delete(digest: Digest): Promise<void>;
  /** Records that `owner` (e.g. an image id) uses these blobs. */
  addRefs(owner: string, digests: Digest[]): void;
  /** Forgets every reference of `owner`. */
  removeRefs(owner: string): void;
  refs(digest: Digest): string[];
  lease(): Lease;
  /** Removes every blob that no owner references and no lease protects. */
  gc(): Promise<GcResult>;
}

export interface ContentStore extends Provider, Ingester, Manager {}
