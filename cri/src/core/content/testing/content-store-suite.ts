/**
 * The shared conformance suite of ContentStore: every implementation runs it with a
 * factory that gives a fresh, empty store and a cleanup.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { ContentStore } from "../content-store.js";
import { sha256Digest } from "../digest.js";

export interface ContentStoreFixture {
  store: ContentStore;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A source that serves `data` from an offset, cutting the first `cuts` responses short. */
function flakySource(data: Buffer, cuts: number, log: { offsets: number[]; bytes: number }) {
  return async (offset: number): Promise<Readable> => {
    log.offsets.push(offset);
    const cut = log.offsets.length <= cuts;
    const end = cut ? offset + Math.floor((data.length - offset) / 2) : data.length;
    const body = data.subarray(offset, end);
    log.bytes += body.length;
    return Readable.from(
      (async function* () {
        for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
        if (cut) throw Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
      })(),
    );
  };
}

export function contentStoreSuite(name: string, factory: () => Promise<ContentStoreFixture>): void {
  describe(`ContentStore conformance: ${name}`, () => {
    let fx: ContentStoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => fx.cleanup());

    test("a written and committed blob reads back, with its info and in the list", async () => {
      const data = randomBytes(300_000);
      const digest = sha256Digest(data);
      const w = await fx.store.writer({ digest, size: data.length });
      await w.write(data.subarray(0, 1000));
      await w.write(data.subarray(1000));
      expect(w.offset).toBe(data.length);
      const info = await w.commit();
      expect(info).toMatchObject({ digest, size: data.length });
      expect(await fx.store.info(digest)).toMatchObject({ digest, size: data.length });
      expect(await readAll(await fx.store.reader(digest))).toEqual(data);
      expect(await readAll(await fx.store.reader(digest, 299_000))).toEqual(data.subarray(299_000));
      expect(await fx.store.readAt(digest, 10, 20)).toEqual(data.subarray(10, 30));
      expect((await fx.store.list()).map((b) => b.digest)).toEqual([digest]);
    });

    test("a wrong digest or size is DataLoss and leaves no blob", async () => {
      const data = Buffer.from("the real bytes");
      const digest = sha256Digest("other bytes");
      const w = await fx.store.writer({ digest });
      await w.write(data);
      await expect(w.commit()).rejects.toMatchObject({ kind: "DataLoss" });
      const good = sha256Digest(data);
      const short = await fx.store.writer({ digest: good, size: data.length + 1 });
      await short.write(data);
      await expect(short.commit()).rejects.toMatchObject({ kind: "DataLoss" });
      const long = await fx.store.writer({ digest: good, size: 3 });
      await expect(long.write(data)).rejects.toMatchObject({ kind: "DataLoss" });
      await long.abort();
      await expect(fx.store.info(digest)).rejects.toMatchObject({ kind: "NotFound" });
      await expect(fx.store.info(good)).rejects.toMatchObject({ kind: "NotFound" });
      expect(await fx.store.list()).toEqual([]);
    });

    test("an invalid digest is InvalidArgument; a missing blob is NotFound", async () => {
      await expect(fx.store.writer({ digest: "sha256:../../etc/passwd" })).rejects.toMatchObject({
        kind: "InvalidArgument",
      });
      await expect(fx.store.info("md5:abc")).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(fx.store.reader(sha256Digest("nothing"))).rejects.toMatchObject({
        kind: "NotFound",
      });
    });

    test("a closed writer resumes from its offset", async () => {
      const data = randomBytes(100_000);
      const digest = sha256Digest(data);
      const first = await fx.store.writer({ digest, size: data.length });
      await first.write(data.subarray(0, 40_000));
      await expect(fx.store.writer({ digest })).rejects.toMatchObject({ kind: "Unavailable" });
      await first.close();
      const second = await fx.store.writer({ digest, size: data.length });
      expect(second.offset).toBe(40_000);
      await second.write(data.subarray(40_000));
      await second.commit();
      expect(await readAll(await fx.store.reader(digest))).toEqual(data);
    });

    test("ingest resumes a broken source at its offset, fetching under 1.2x the bytes", async () => {
      const data = randomBytes(1_000_000);
      const digest = sha256Digest(data);
      const log = { offsets: [] as number[], bytes: 0 };
      await fx.store.ingest({ digest, size: data.length }, flakySource(data, 2, log));
      expect(log.offsets).toEqual([0, 500_000, 750_000]);
      expect(log.bytes).toBeLessThan(1.2 * data.length);
      expect(await readAll(await fx.store.reader(digest))).toEqual(data);
    });

    test("concurrent ingests of one digest share one download; a present blob is not fetched", async () => {
      const data = randomBytes(500_000);
      const digest = sha256Digest(data);
      const log = { offsets: [] as number[], bytes: 0 };
      const source = flakySource(data, 0, log);
      const results = await Promise.all(
        [1, 2, 3].map(() => fx.store.ingest({ digest, size: data.length }, source)),
      );
      expect(results.map((r) => r.digest)).toEqual([digest, digest, digest]);
      await fx.store.ingest({ digest, size: data.length }, source);
      expect(log.offsets).toEqual([0]);
    });

    test("a source that lies is DataLoss and leaves nothing", async () => {
      const data = randomBytes(10_000);
      const digest = sha256Digest(data);
      const lie = async (): Promise<Readable> => Readable.from([randomBytes(10_000)]);
      await expect(fx.store.ingest({ digest, size: data.length }, lie)).rejects.toMatchObject({
        kind: "DataLoss",
      });
      expect(await fx.store.list()).toEqual([]);
      const w = await fx.store.writer({ digest });
      expect(w.offset).toBe(0);
      await w.abort();
    });

    test("gc removes unreferenced blobs and keeps referenced and leased ones; delete is idempotent", async () => {
      const blobs = ["kept by ref", "kept by lease", "garbage"].map((s) => ({
        data: Buffer.from(s),
        digest: sha256Digest(s),
      }));
      for (const b of blobs)
        await fx.store.ingest({ digest: b.digest }, async () => Readable.from([b.data]));
      fx.store.addRefs("image-1", [blobs[0]!.digest]);
      expect(fx.store.refs(blobs[0]!.digest)).toEqual(["image-1"]);
      const lease = fx.store.lease();
      lease.protect(blobs[1]!.digest);
      const result = await fx.store.gc();
      expect(result.removed).toEqual([blobs[2]!.digest]);
      expect(result.bytes).toBe(blobs[2]!.data.length);
      lease.release();
      fx.store.removeRefs("image-1");
      expect((await fx.store.gc()).removed.sort()).toEqual(
        [blobs[0]!.digest, blobs[1]!.digest].sort(),
      );
      expect(await fx.store.list()).toEqual([]);
      await fx.store.delete(blobs[0]!.digest);
    });
  });
}
