/**
 * Images as the node knows them, in the store: one row per image (its id is the config
 * digest, as in Docker and containerd), and its names: tags ("docker.io/library/
 * busybox:latest") and repo digests ("docker.io/library/busybox@sha256:…"). A name
 * points at one image; tagging moves it. An image lives while it has a name.
 */
import type { Store } from "../../core/store/store.js";

export interface ImageLayer {
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** The image config JSON (OCI image-spec config). */
  config: ImageConfigFile;
  layers: ImageLayer[];
  topChainId: string;
  /** Compressed size of the layers, as the registry serves them. */
  size: number;
  pinned: boolean;
  createdNs: bigint;
  names: string[];
}

/** The OCI image config file (the parts Skiff reads). */
export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Volumes?: Record<string, object>;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
    StopSignal?: string;
    Healthcheck?: object;
  };
  rootfs?: { type: string; diff_ids: string[] };
  history?: object[];
}

/** created_ns exceeds 2^53: read as text (node:sqlite refuses a lossy number). */
const columns =
  "id, manifest_digest, manifest_media_type, config, layers, top_chain_id, size, pinned, CAST(created_ns AS TEXT) AS created_ns";

export class ImageStore {
  constructor(private readonly store: Store) {}

  get(id: string): ImageRecord | undefined {
    const row = this.store.get(`SELECT ${columns} FROM images WHERE id = ?`, id);
    return row ? this.toRecord(row) : undefined;
  }

  byName(name: string): ImageRecord | undefined {
    const row = this.store.get("SELECT image_id FROM image_names WHERE name = ?", name);
    return row ? this.get(String(row["image_id"])) : undefined;
  }

  /** Images whose id starts with `prefix` (a short id, as docker accepts). */
  byIdPrefix(prefix: string): ImageRecord[] {
    return this.store
      .all(
        "SELECT id FROM images WHERE id LIKE ? ESCAPE '\\' ORDER BY id",
        `${prefix.replace(/[\\%_]/g, "\\$&")}%`,
      )
      .map((r) => this.get(String(r["id"])) as ImageRecord);
  }

  list(): ImageRecord[] {
    return this.store
      .all(`SELECT ${columns} FROM images ORDER BY created_ns, id`)
      .map((r) => this.toRecord(r));
  }

  /** Inserts or updates the image and points `names` at it (moving them from others). */
  save(image: Omit<ImageRecord, "names">, names: string[]): { orphaned: string[] } {
    return this.store.transaction(() => {
      this.store.run(
        `INSERT INTO images (id, manifest_digest, manifest_media_type, config, layers, top_chain_id, size, pinned, created_ns)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET manifest_digest = excluded.manifest_digest,
           manifest_media_type = excluded.manifest_media_type, size = excluded.size`,
        image.id,
        image.manifestDigest,
        image.manifestMediaType,
        JSON.stringify(image.config),
        JSON.stringify(image.layers),
        image.topChainId,
        image.size,
        image.pinned ? 1 : 0,
        image.createdNs,
      );
      const previous = new Set<string>();
      for (const name of names) {
        const old = this.store.get("SELECT image_id FROM image_names WHERE name = ?", name);
        if (old && old["image_id"] !== image.id) previous.add(String(old["image_id"]));
        this.store.run(
          "INSERT INTO image_names (name, image_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id",
          name,
          image.id,
        );
      }
      return { orphaned: [...previous].filter((id) => this.names(id).length === 0) };
    });
  }

  names(id: string): string[] {
    return this.store
      .all("SELECT name FROM image_names WHERE image_id = ? ORDER BY name", id)
      .map((r) => String(r["name"]));
  }

  /** Removes one name; returns true when the image has no name left. */
  untag(name: string): { imageId: string; orphaned: boolean } | undefined {
    return this.store.transaction(() => {
      const row = this.store.get("SELECT image_id FROM image_names WHERE name = ?", name);
      if (!row) return undefined;
      const imageId = String(row["image_id"]);
      this.store.run("DELETE FROM image_names WHERE name = ?", name);
      return { imageId, orphaned: this.names(imageId).length === 0 };
    });
  }

  delete(id: string): void {
    this.store.run("DELETE FROM images WHERE id = ?", id);
  }

  private toRecord(row: Record<string, unknown>): ImageRecord {
    const id = String(row["id"]);
    return {
      id,
      manifestDigest: String(row["manifest_digest"]),
      manifestMediaType: String(row["manifest_media_type"]),
      config: JSON.parse(String(row["config"])) as ImageConfigFile,
      layers: JSON.parse(String(row["layers"])) as ImageLayer[],
      topChainId: String(row["top_chain_id"]),
      size: Number(row["size"]),
      pinned: Number(row["pinned"]) === 1,
      createdNs: BigInt(String(row["created_ns"])),
      names: this.names(id),
    };
  }
}
