/**
 * The store's schema, as an ordered list of migrations: entry N brings a database from
 * version N to N+1. Append only; never edit a migration that has shipped.
 */
export const migrations: readonly string[] = [
  // 1: name reservations (a kubelet retry finds the first attempt) and node-wide settings.
  `CREATE TABLE names (
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     id TEXT NOT NULL,
     created_ns INTEGER NOT NULL,
     PRIMARY KEY (kind, name)
   ) STRICT;
   CREATE UNIQUE INDEX names_by_id ON names (kind, id);
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT;`,
  // 2: content references (blobs live in content/blobs; a blob nothing references is
  // garbage) and OverlayFS snapshots (directories snapshots/<id>/{fs,work}).
  `CREATE TABLE content_refs (
     owner TEXT NOT NULL,
     digest TEXT NOT NULL,
     PRIMARY KEY (owner, digest)
   ) STRICT;
   CREATE INDEX content_refs_by_digest ON content_refs (digest);
   CREATE TABLE snapshots (
     id INTEGER PRIMARY KEY,
     key TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
     parent TEXT,
     labels TEXT NOT NULL DEFAULT '{}',
     created_ns INTEGER NOT NULL,
     updated_ns INTEGER NOT NULL,
     size INTEGER NOT NULL DEFAULT 0,
     inodes INTEGER NOT NULL DEFAULT 0
   ) STRICT;
   CREATE INDEX snapshots_by_parent ON snapshots (parent);`,
  // 3: images (id = config digest) and their names (tags "repo:tag" and digests
  // "repo@sha256:..."); an image lives while it has a name.
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     manifest_digest TEXT NOT NULL,
     manifest_media_type TEXT NOT NULL,
     config TEXT NOT NULL,
     layers TEXT NOT NULL,
     top_chain_id TEXT NOT NULL,
     size INTEGER NOT NULL,
     pinned INTEGER NOT NULL DEFAULT 0,
     created_ns INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE image_names (
     name TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE
   ) STRICT;
   CREATE INDEX image_names_by_image ON image_names (image_id);`,
  // 4: CRI containers. What the runtime knows (pid, exit) lives in its state dir; this
  // row is what the CRI needs besides: config, names, image, times, the exit it saw.
  `CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     sandbox_id TEXT NOT NULL,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL,
     image_ref TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('creating', 'created', 'running', 'exited')),
     config TEXT NOT NULL,
     log_path TEXT NOT NULL,
     created_ns TEXT NOT NULL,
     started_ns TEXT NOT NULL DEFAULT '0',
     finished_ns TEXT NOT NULL DEFAULT '0',
     exit_code INTEGER NOT NULL DEFAULT 0,
     reason TEXT NOT NULL DEFAULT '',
     message TEXT NOT NULL DEFAULT ''
   ) STRICT;
   CREATE INDEX containers_by_sandbox ON containers (sandbox_id);`,
  // 5: pod sandboxes. name is the CRI reservation "<name>_<namespace>_<uid>_<attempt>";
  // state "creating" marks a RunPodSandbox in progress (recovery rolls it back).
  `CREATE TABLE sandboxes (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'notready')),
     created_ns INTEGER NOT NULL,
     runtime_handler TEXT NOT NULL DEFAULT '',
     config TEXT NOT NULL,
     netns_path TEXT NOT NULL DEFAULT '',
     ips TEXT NOT NULL DEFAULT '[]',
     infra_id TEXT NOT NULL DEFAULT '',
     cgroup_path TEXT NOT NULL DEFAULT '',
     cgroup_owned INTEGER NOT NULL DEFAULT 0,
     shm_path TEXT NOT NULL DEFAULT '',
     hostname TEXT NOT NULL DEFAULT ''
   ) STRICT;`,
];
