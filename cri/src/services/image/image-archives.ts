/**
 * Save and load of image archives for the image service (formats: image-archive.ts).
 *
 * Load is all-or-nothing: the archive is spooled to <root>/tmp (removed afterwards, and
 * spools a crash left are removed by the next load),
 * its blobs are verified into the content store under a lease, every layer is applied
 * through the layer applier (diff ids checked), and only then are the images and their
 * names recorded, in one transaction.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { TarWriter } from "../../core/archive/tar-writer.js";
import type { LocalContentStore } from "../../core/content/local-store.js";
import { SkiffError, SystemError, invalidArgument } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { formatReference, parseReference } from "../../core/registry/reference.js";
import type { Store } from "../../core/store/store.js";
import type { LayerApplier } from "../../core/unpack/layer-apply.js";
import { readArchive, writeArchive, type ArchiveFormat, type SaveItem } from "./image-archive.js";
import type { ImageRecord, ImageStore } from "./image-store.js";

export type { ArchiveFormat } from "./image-archive.js";

export interface ImageArchivesOptions {
  store: Store;
  content: LocalContentStore;
  applier: LayerApplier;
  images: ImageStore;
  log: Logger;
  snapshotsDir: string;
  resolve(text: string): ImageRecord | undefined;
  removeData(id: string): Promise<void>;
}

/** Spool files of loads in flight in this process; any other load-* file is a crash's leftover. */
const spooling = new Set<string>();

async function removeStaleSpools(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (name.startsWith("load-") && !spooling.has(path)) await rm(path, { force: true });
  }
}

export class ImageArchives {
  constructor(private readonly o: ImageArchivesOptions) {}

  /**
   * The archive of `texts` as a tar stream. A name saves that name; an id or digest
   * saves the image with all its tags. Errors after the start destroy the stream.
   */
  save(texts: string[], format: ArchiveFormat): Readable {
    if (texts.length === 0) throw invalidArgument("save: name at least one image");
    const items = new Map<string, SaveItem>();
    for (const text of texts) {
      const image = this.o.resolve(text);
      if (!image) throw new SkiffError("NotFound", `image ${text} not found`);
      let name: string | undefined;
      try {
        const ref = parseReference(text);
        if (ref.tag !== undefined && ref.digest === undefined) name = formatReference(ref);
      } catch {
        name = undefined;
      }
      const names =
        name !== undefined && image.names.includes(name)
          ? [name]
          : image.names.filter((n) => !n.includes("@"));
      const item = items.get(image.id) ?? { image, names: [] };
      for (const n of names) if (!item.names.includes(n)) item.names.push(n);
      items.set(image.id, item);
    }
    const tar = new TarWriter();
    writeArchive(this.o.content, [...items.values()], format, tar).catch((err: unknown) => {
      this.o.log.warn({ err }, "image save failed");
      tar.stream.destroy(err as Error);
    });
    return tar.stream;
  }

  async load(source: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<string[]> {
    const dir = join(dirname(this.o.snapshotsDir), "tmp");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeStaleSpools(dir);
    const file = join(dir, `load-${randomUUID()}.tar`);
    spooling.add(file);
    const lease = this.o.content.lease();
    try {
      const fh = await open(file, "wx", 0o600);
      try {
        for await (const chunk of source) {
          signal?.throwIfAborted();
          await fh.write(chunk);
        }
      } catch (err) {
        if (err instanceof SkiffError) throw err;
        throw new SystemError("spool archive", file, err);
      } finally {
        await fh.close();
      }
      const images = await readArchive(this.o.content, lease, file);
      const records: { record: Omit<ImageRecord, "names">; names: string[]; refs: string[] }[] = [];
      for (const image of images) {
        const { manifest, config } = image;
        const diffIds = config.rootfs?.diff_ids ?? [];
        if (diffIds.length !== manifest.layers.length) {
          throw new SkiffError(
            "DataLoss",
            `archive: image ${manifest.config.digest} lists ${diffIds.length} diff ids for ${manifest.layers.length} layers`,
          );
        }
        const content = this.o.content;
        const applied = await this.o.applier.apply(
          manifest.layers.map((desc, i) => ({
            digest: desc.digest,
            diffId: diffIds[i] as string,
            mediaType: desc.mediaType,
            open: () => content.reader(desc.digest),
          })),
          signal ? { signal } : {},
        );
        records.push({
          record: {
            id: manifest.config.digest,
            manifestDigest: image.manifestDigest,
            manifestMediaType: image.manifestMediaType,
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
          },
          names: image.names,
          refs: [
            image.manifestDigest,
            manifest.config.digest,
            ...manifest.layers.map((l) => l.digest),
          ],
        });
      }
      const orphaned = this.o.store.transaction(() => {
        const out: string[] = [];
        for (const { record, names, refs } of records) {
          out.push(...this.o.images.save(record, names).orphaned);
          this.o.content.addRefs(record.id, refs);
        }
        return out;
      });
      for (const id of orphaned) await this.o.removeData(id);
      const loaded = records.flatMap(({ record, names }) =>
        names.length > 0 ? names : [record.id],
      );
      this.o.log.info({ images: loaded }, "images loaded");
      return loaded;
    } finally {
      lease.release();
      await rm(file, { force: true });
      spooling.delete(file);
      await this.o.content.gc().catch(() => undefined);
    }
  }
}
