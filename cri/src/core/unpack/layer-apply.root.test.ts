/**
 * The layer pipeline on the real kernel: layers (gzip, zstd, plain) unpacked by the
 * native unpack mode into OverlayFS snapshots, mounted to check the merged view; corrupt
 * and lying layers leave no snapshot behind.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { tarBuffer } from "../archive/tar-writer.js";
import { Store } from "../store/store.js";
import { OverlaySnapshotter, snapshotDirs } from "../snapshots/overlay.js";
import { LayerApplier, removeStaleStaging, type Layer } from "./layer-apply.js";
import { memoryLayer, unpackCommand, withMount } from "./testing/fixtures.js";

let command: string[];
beforeAll(() => {
  command = unpackCommand();
});

let root: string;
let store: Store;
let snapshotter: OverlaySnapshotter;
let applier: LayerApplier;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "skiff-layers-"));
  store = Store.open(join(root, "meta.db"));
  snapshotter = await OverlaySnapshotter.open(root, store);
  applier = new LayerApplier({ snapshotter, command });
});
afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const base = tarBuffer([
  { name: "bin/", type: "directory" },
  { name: "bin/busybox", type: "file", body: "#!busybox", mode: 0o755 },
  { name: "bin/sh", type: "symlink", linkname: "busybox" },
  { name: "bin/ls", type: "hardlink", linkname: "bin/busybox" },
  { name: "etc/", type: "directory" },
  { name: "etc/hosts", type: "file", body: "127.0.0.1 localhost\n" },
  { name: "etc/motd", type: "file", body: "hello\n" },
  { name: "var/cache/", type: "directory" },
  { name: "var/cache/old-1", type: "file", body: "1" },
  { name: "var/cache/old-2", type: "file", body: "2" },
  { name: "dev/", type: "directory" },
  { name: "dev/null", type: "chardev", devmajor: 1, devminor: 3, mode: 0o666 },
  { name: "run/", type: "directory" },
  { name: "run/fifo", type: "fifo" },
  { name: "usr/bin/passwd", type: "file", body: "suid", mode: 0o4755 },
]);
const middle = tarBuffer([
  { name: "etc/", type: "directory" },
  { name: "etc/.wh.motd", type: "file", body: "" },
  { name: "etc/hosts", type: "file", body: "10.0.0.1 changed\n" },
  { name: "var/cache/", type: "directory" },
  { name: "var/cache/.wh..wh..opq", type: "file", body: "" },
  { name: "var/cache/new", type: "file", body: "new" },
]);
const top = tarBuffer([
  { name: "app/", type: "directory" },
  { name: "app/data", type: "file", body: "x".repeat(100_000), xattrs: { "user.origin": "top" } },
]);

async function mounted<T>(key: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const target = join(root, "mnt");
  mkdirSync(target, { recursive: true });
  return withMount(await snapshotter.mounts(key), target, () => fn(target));
}

describe("LayerApplier", () => {
  test("gzip, zstd and plain layers stack into the merged view a container sees", async () => {
    const layers = [
      memoryLayer(base, "gzip"),
      memoryLayer(middle, "zstd"),
      memoryLayer(top, "none"),
    ];
    const applied = await applier.apply(layers);
    expect(applied.map((a) => a.unpacked)).toEqual([true, true, true]);
    expect(applied[0]?.chainId).toBe(layers[0]?.diffId);
    const chainTop = applied[2]?.chainId as string;
    expect(await snapshotter.stat(chainTop)).toMatchObject({
      kind: "committed",
      parent: applied[1]?.chainId,
    });
    expect((await snapshotter.list()).map((s) => s.kind)).toEqual([
      "committed",
      "committed",
      "committed",
    ]);

    await snapshotter.prepare("container-1", chainTop);
    await mounted("container-1", (dir) => {
      expect(readFileSync(join(dir, "etc/hosts"), "utf8")).toBe("10.0.0.1 changed\n");
      expect(existsSync(join(dir, "etc/motd"))).toBe(false);
      expect(readdirSync(join(dir, "var/cache"))).toEqual(["new"]);
      expect(readFileSync(join(dir, "bin/sh"), "utf8")).toBe("#!busybox");
      expect(statSync(join(dir, "bin/ls")).ino).toBe(statSync(join(dir, "bin/busybox")).ino);
      expect(statSync(join(dir, "dev/null")).rdev).toBe(0x103);
      expect(lstatSync(join(dir, "run/fifo")).isFIFO()).toBe(true);
      expect(statSync(join(dir, "usr/bin/passwd")).mode & 0o7777).toBe(0o4755);
      expect(readFileSync(join(dir, "app/data")).length).toBe(100_000);
      writeFileSync(join(dir, "etc/hosts"), "container write\n");
      rmSync(join(dir, "bin/busybox"));
    });
    const upper = await snapshotter.upperDir("container-1");
    expect(readFileSync(join(upper, "etc/hosts"), "utf8")).toBe("container write\n");
    expect((await snapshotter.usage("container-1")).inodes).toBeGreaterThan(1);
    expect((await snapshotter.usage(chainTop)).size).toBeGreaterThanOrEqual(100_000);

    await snapshotter.view("view-1", chainTop);
    await mounted("view-1", (dir) => {
      expect(readFileSync(join(dir, "etc/hosts"), "utf8")).toBe("10.0.0.1 changed\n");
      expect(readFileSync(join(dir, "bin/busybox"), "utf8")).toBe("#!busybox");
      expect(() => writeFileSync(join(dir, "new"), "x")).toThrow(/EROFS/);
    });
  });

  test("images sharing base layers share their snapshots", async () => {
    const first = await applier.apply([memoryLayer(base), memoryLayer(middle)]);
    const second = await applier.apply([memoryLayer(base), memoryLayer(middle), memoryLayer(top)]);
    expect(second.map((a) => a.unpacked)).toEqual([false, false, true]);
    expect(second[1]?.chainId).toBe(first[1]?.chainId);
    expect((await snapshotter.list()).length).toBe(3);
    const [a, b] = await Promise.all([
      applier.apply([memoryLayer(top, "zstd")]),
      applier.apply([memoryLayer(top, "zstd")]),
    ]);
    expect([a?.[0]?.unpacked, b?.[0]?.unpacked].sort()).toEqual([false, true]);
    expect((await snapshotter.list()).length).toBe(4);
  });

  test("layers are extracted in parallel and committed in order", async () => {
    let opened = 0;
    let release: () => void = () => undefined;
    const allOpen = new Promise<void>((resolve) => (release = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("layers were not opened concurrently")), 5000);
    });
    timeout.catch(() => undefined);
    const gated = (layer: Layer): Layer => ({
      ...layer,
      open: async () => {
        if (++opened === 3) release();
        await Promise.race([allOpen, timeout]);
        return layer.open();
      },
    });
    const applied = await applier.apply([
      gated(memoryLayer(base)),
      gated(memoryLayer(middle)),
      gated(memoryLayer(top)),
    ]);
    clearTimeout(timer);
    expect(opened).toBe(3);
    expect(await snapshotter.stat(applied[2]?.chainId as string)).toMatchObject({
      parent: applied[1]?.chainId,
    });
  });

  const nothingLeft = async (): Promise<void> => {
    expect(await snapshotter.list()).toEqual([]);
    expect(snapshotDirs(snapshotter)).toEqual([]);
  };

  test("a corrupt gzip stream is DataLoss and leaves no snapshot", async () => {
    const good = memoryLayer(base, "gzip");
    const blob = Buffer.from(
      await (async () => {
        const chunks: Buffer[] = [];
        for await (const c of await good.open()) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      })(),
    );
    blob.fill(0x55, 40, 80);
    await expect(applier.apply([memoryLayer(base, "gzip", blob)])).rejects.toMatchObject({
      kind: "DataLoss",
    });
    await nothingLeft();
  });

  test("a diff id or digest that does not match is DataLoss and leaves no snapshot", async () => {
    const layer = memoryLayer(middle, "gzip");
    await expect(
      applier.apply([{ ...layer, diffId: memoryLayer(top).diffId }]),
    ).rejects.toMatchObject({
      kind: "DataLoss",
      message: expect.stringMatching(/diff id/),
    });
    await expect(
      applier.apply([{ ...layer, digest: memoryLayer(top).digest }]),
    ).rejects.toMatchObject({
      kind: "DataLoss",
    });
    const truncated = {
      ...layer,
      open: async () => Readable.from([(await readAll(layer)).subarray(0, 30)]),
    };
    await expect(applier.apply([truncated])).rejects.toMatchObject({ kind: "DataLoss" });
    const plain = memoryLayer(middle, "none");
    const cut = {
      ...plain,
      open: async () => Readable.from([(await readAll(plain)).subarray(0, 1000)]),
    };
    await expect(applier.apply([cut])).rejects.toMatchObject({ kind: "DataLoss" });
    await nothingLeft();
  });

  test("a failed upper layer keeps the verified layers below and removes its own staging", async () => {
    const bad = { ...memoryLayer(top), diffId: memoryLayer(base).diffId };
    await expect(
      applier.apply([memoryLayer(base), memoryLayer(middle), bad]),
    ).rejects.toMatchObject({ kind: "DataLoss" });
    expect((await snapshotter.list()).map((s) => s.kind)).toEqual(["committed", "committed"]);
  });

  test("a hostile layer is refused (InvalidArgument), writes nothing outside and leaves no snapshot", async () => {
    const host = join(root, "host-file");
    writeFileSync(host, "host");
    const hostile = tarBuffer([
      { name: "link", type: "symlink", linkname: host },
      { name: "link", type: "file", body: "overwritten?" },
      { name: "dir", type: "symlink", linkname: root },
      { name: "dir/host-file", type: "file", body: "pwned" },
    ]);
    await expect(applier.apply([memoryLayer(hostile)])).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringMatching(/dir\/host-file/),
    });
    expect(readFileSync(host, "utf8")).toBe("host");
    await nothingLeft();
  });

  test("a missing unpack command is a system error and leaves no snapshot", async () => {
    const broken = new LayerApplier({
      snapshotter,
      command: [join(root, "no-such-shim"), "unpack"],
    });
    await expect(broken.apply([memoryLayer(base)])).rejects.toMatchObject({
      kind: "Internal",
      code: "ENOENT",
    });
    await nothingLeft();
  });

  test("staging snapshots a crash left are removed", async () => {
    await snapshotter.prepare("extract-1234 sha256:abc");
    await snapshotter.prepare("container-keep");
    expect(await removeStaleStaging(snapshotter)).toEqual(["extract-1234 sha256:abc"]);
    expect((await snapshotter.list()).map((s) => s.name)).toEqual(["container-keep"]);
  });
});

async function readAll(layer: Layer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await layer.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
