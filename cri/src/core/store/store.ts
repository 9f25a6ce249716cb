/**
 * Skiff's metadata store: one SQLite database (node:sqlite) under the root directory,
 * opened once per process, in WAL mode. Every change is a transaction, so a process
 * killed at any point leaves the database as it was before or after the transaction,
 * never between. The schema carries a version (PRAGMA user_version) and is brought up
 * to date by the ordered migrations below; a database newer than this build is refused.
 *
 * Durability: synchronous=NORMAL in WAL mode survives any crash of skiff-cri itself
 * (the case that matters for a runtime restarted by its supervisor); a power cut may
 * lose the last transactions but never corrupts the file.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { SkiffError, SystemError } from "../errors.js";
import { migrations } from "./migrations.js";

export type Row = Record<string, SQLInputValue>;

export class Store {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private depth = 0;

  private constructor(
    readonly path: string,
    db: DatabaseSync,
  ) {
    this.db = db;
  }

  /** Opens (creating if needed) and migrates the database at `path`. */
  static open(path: string): Store {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      throw new SystemError("open store", path, err);
    }
    const store = new Store(path, db);
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("PRAGMA busy_timeout = 5000");
      store.migrate();
    } catch (err) {
      db.close();
      if (err instanceof SkiffError) throw err;
      throw new SystemError("open store", path, err);
    }
    return store;
  }

  get schemaVersion(): number {
    return Number(this.get("PRAGMA user_version")?.["user_version"] ?? 0);
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > migrations.length) {
      throw new SkiffError(
        "FailedPrecondition",
        `store ${this.path} has schema version ${current}, newer than this skiff-cri (${migrations.length})`,
      );
    }
    for (let version = current + 1; version <= migrations.length; version++) {
      const sql = migrations[version - 1] as string;
      this.transaction(() => {
        this.db.exec(sql);
        this.db.exec(`PRAGMA user_version = ${version}`);
      });
    }
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    this.depth++;
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.depth--;
    }
  }

  run(sql: string, ...params: SQLInputValue[]): { changes: number } {
    const result = this.statement(sql).run(...params);
    return { changes: Number(result.changes) };
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.statement(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.statement(sql).all(...params) as Row[];
  }

  /** PRAGMA integrity_check; "ok" when the file is sound. */
  integrityCheck(): string {
    return String(this.get("PRAGMA integrity_check")?.["integrity_check"]);
  }

  close(): void {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
