/**
 * The Snapshotter interface (containerd's): a tree of filesystem snapshots. Committed
 * snapshots are immutable layers (named by chain id when they hold an image); an active
 * snapshot is a writable layer on a committed parent (a container's rootfs, or a layer
 * being unpacked); a view is a read-only layer set. A snapshotter only describes how to
 * mount a snapshot and never mounts anything itself.
 *
 *   prepare(k, p) ──► active ──commit(n, k)──► committed (parent of more snapshots)
 *   view(k, p)    ──► view (read-only)         remove(k) ends any of them (no children)
 */

/** A mount as mount(2) takes it: the caller picks the target. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export type SnapshotKind = "active" | "view" | "committed";

export interface SnapshotInfo {
  /** The key (active, view) or name (committed). */
  name: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  /** ms since the epoch */
  created: number;
  updated: number;
}

export interface Usage {
  /** Bytes of disk the snapshot's own layer uses (not its parents'). */
  size: number;
  inodes: number;
}

export interface PrepareOptions {
  labels?: Record<string, string>;
}

export interface CommitOptions {
  labels?: Record<string, string>;
  /**
   * Parent of the committed snapshot, for an active snapshot prepared without one: a
   * layer unpacked into its own upper directory does not depend on what lies beneath,
   * so layers can be unpacked in parallel and stacked when committed, in order.
   */
  parent?: string;
}

export interface Snapshotter {
  /** NotFound if absent. */
  stat(key: string): Promise<SnapshotInfo>;
  /** Replaces the labels. */
  update(key: string, labels: Record<string, string>): Promise<SnapshotInfo>;
  usage(key: string): Promise<Usage>;
  mounts(key: string): Promise<Mount[]>;
  /** A writable snapshot on `parent` (committed); AlreadyExists if the key is taken. */
  prepare(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]>;
  /** A read-only snapshot of `parent` (committed). */
  view(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]>;
  /** Turns the active snapshot `key` into the committed snapshot `name`. */
  commit(name: string, key: string, options?: CommitOptions): Promise<void>;
  /** NotFound if absent; FailedPrecondition while it has children. */
  remove(key: string): Promise<void>;
  list(): Promise<SnapshotInfo[]>;
}
