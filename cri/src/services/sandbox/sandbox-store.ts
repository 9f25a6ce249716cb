/**
 * The sandboxes table (migration 5): one row per pod sandbox, keyed by id, with the
 * CRI name reservation as a UNIQUE column so two attempts can never both own a name.
 * Rows are written in one statement each (each is its own transaction).
 */
import { SkiffError } from "../../core/errors.js";
import type { Row, Store } from "../../core/store/store.js";
import type { PodSandboxConfig__Output } from "../../generated/runtime/v1/PodSandboxConfig.js";

export type SandboxStateName = "creating" | "ready" | "notready";

export interface SandboxRecord {
  id: string;
  /** "<name>_<namespace>_<uid>_<attempt>" */
  name: string;
  state: SandboxStateName;
  createdNs: bigint;
  runtimeHandler: string;
  config: PodSandboxConfig__Output;
  /** The pod netns file ("" for host-network pods and once released). */
  netnsPath: string;
  ips: string[];
  /** The infra container's id in the infra runtime ("" until it exists). */
  infraId: string;
  /** The pod cgroup (relative to each hierarchy). */
  cgroupPath: string;
  /** Skiff made the pod cgroup (else kubelet did) and removes it with the pod. */
  cgroupOwned: boolean;
  /** The pod's /dev/shm mount ("/dev/shm" for host-IPC pods). */
  shmPath: string;
  hostname: string;
}

const columns =
  "id, name, state, created_ns, runtime_handler, config, netns_path, ips, infra_id, cgroup_path, cgroup_owned, shm_path, hostname";
// created_ns is read as text: nanoseconds since 1970 do not fit a double exactly.
const selected = columns.replace("created_ns", "CAST(created_ns AS TEXT) AS created_ns");

export class SandboxStore {
  constructor(private readonly store: Store) {}

  /** Inserts a new "creating" row; AlreadyExists when the name is reserved. */
  reserve(record: SandboxRecord): void {
    try {
      this.store.run(
        `INSERT INTO sandboxes (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        record.id,
        record.name,
        record.state,
        record.createdNs,
        record.runtimeHandler,
        JSON.stringify(record.config),
        record.netnsPath,
        JSON.stringify(record.ips),
        record.infraId,
        record.cgroupPath,
        record.cgroupOwned ? 1 : 0,
        record.shmPath,
        record.hostname,
      );
    } catch (err) {
      if (/UNIQUE constraint failed/.test((err as Error).message)) {
        throw new SkiffError("AlreadyExists", `pod sandbox name ${record.name} is reserved`);
      }
      throw err;
    }
  }

  /** Writes the record, all but cgroup_owned (setCgroupOwned: another pod may hand it over). */
  update(record: SandboxRecord): void {
    this.store.run(
      `UPDATE sandboxes SET state = ?, config = ?, netns_path = ?, ips = ?, infra_id = ?,
         cgroup_path = ?, shm_path = ?, hostname = ? WHERE id = ?`,
      record.state,
      JSON.stringify(record.config),
      record.netnsPath,
      JSON.stringify(record.ips),
      record.infraId,
      record.cgroupPath,
      record.shmPath,
      record.hostname,
      record.id,
    );
  }

  setCgroupOwned(id: string, owned: boolean): void {
    this.store.run("UPDATE sandboxes SET cgroup_owned = ? WHERE id = ?", owned ? 1 : 0, id);
  }

  delete(id: string): void {
    this.store.run("DELETE FROM sandboxes WHERE id = ?", id);
  }

  get(id: string): SandboxRecord | undefined {
    const row = this.store.get(`SELECT ${selected} FROM sandboxes WHERE id = ?`, id);
    return row && recordOf(row);
  }

  byName(name: string): SandboxRecord | undefined {
    const row = this.store.get(`SELECT ${selected} FROM sandboxes WHERE name = ?`, name);
    return row && recordOf(row);
  }

  /** Ids starting with `prefix` (crictl passes truncated ids). */
  idsWithPrefix(prefix: string): string[] {
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    return this.store
      .all("SELECT id FROM sandboxes WHERE id LIKE ? ESCAPE '\\'", `${escaped}%`)
      .map((r) => String(r["id"]));
  }

  all(): SandboxRecord[] {
    return this.store
      .all(`SELECT ${selected} FROM sandboxes ORDER BY created_ns, id`)
      .map(recordOf);
  }
}

function recordOf(row: Row): SandboxRecord {
  return {
    id: String(row["id"]),
    name: String(row["name"]),
    state: String(row["state"]) as SandboxStateName,
    createdNs: BigInt(String(row["created_ns"])),
    runtimeHandler: String(row["runtime_handler"]),
    config: JSON.parse(String(row["config"])) as PodSandboxConfig__Output,
    netnsPath: String(row["netns_path"]),
    ips: JSON.parse(String(row["ips"])) as string[],
    infraId: String(row["infra_id"]),
    cgroupPath: String(row["cgroup_path"]),
    cgroupOwned: Number(row["cgroup_owned"]) === 1,
    shmPath: String(row["shm_path"]),
    hostname: String(row["hostname"]),
  };
}
