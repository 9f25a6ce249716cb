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
];
