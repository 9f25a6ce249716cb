import { describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { Readable } from "node:stream";
import { TarWriter, encodeHeader, tarBuffer, type TarEntry } from "./tar-writer.js";

interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  pax: Record<string, string>;
  body: Buffer;
}

/** A minimal reader that checks what the writer promises: checksums, padding, pax records. */
function readTar(buf: Buffer): ReadEntry[] {
  const out: ReadEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  const str = (o: number, n: number): string => {
    const raw = buf.subarray(o, o + n);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul < 0 ? n : nul).toString("utf8");
  };
  const num = (o: number, n: number): number => parseInt(str(o, n).trim() || "0", 8);
  for (;;) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) {
      expect(buf.subarray(offset).length).toBe(1024);
      expect(buf.subarray(offset).every((b) => b === 0)).toBe(true);
      return out;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    expect(num(offset + 148, 8)).toBe(sum);
    expect(str(offset + 257, 6)).toBe("ustar");
    const size = num(offset + 124, 12);
    const typeflag = str(offset + 156, 1);
    const dataStart = offset + 512;
    const dataEnd = dataStart + size;
    const body = buf.subarray(dataStart, dataEnd);
    expect(
      buf.subarray(dataEnd, dataStart + Math.ceil(size / 512) * 512).every((b) => b === 0),
    ).toBe(true);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === "x") {
      let at = 0;
      while (at < body.length) {
        const space = body.indexOf(0x20, at);
        const length = Number(body.subarray(at, space).toString());
        const record = body.subarray(space + 1, at + length - 1);
        expect(body[at + length - 1]).toBe(0x0a);
        const eq = record.indexOf(0x3d);
        pax[record.subarray(0, eq).toString()] = record.subarray(eq + 1).toString("latin1");
        at += length;
      }
      continue;
    }
    const prefix = str(offset - Math.ceil(size / 512) * 512 - 512 + 345, 155);
    const name = str(dataStart - 512, 100);
    out.push({
      name:
        pax.path !== undefined
          ? Buffer.from(pax.path, "latin1").toString("utf8")
          : prefix
            ? `${prefix}/${name}`
            : name,
      type: typeflag,
      mode: num(dataStart - 512 + 100, 8),
      uid: pax.uid ? Number(pax.uid) : num(dataStart - 512 + 108, 8),
      gid: pax.gid ? Number(pax.gid) : num(dataStart - 512 + 116, 8),
      size: pax.size ? Number(pax.size) : size,
      mtime: pax.mtime ?? String(num(dataStart - 512 + 136, 12)),
      linkname: pax.linkpath ?? str(dataStart - 512 + 157, 100),
      uname: pax.uname ?? str(dataStart - 512 + 265, 32),
      gname: pax.gname ?? str(dataStart - 512 + 297, 32),
      devmajor: num(dataStart - 512 + 329, 8),
      devminor: num(dataStart - 512 + 337, 8),
      pax,
      body: Buffer.from(body),
    });
    pax = {};
  }
}

function gnuTarList(archive: Buffer): string[] {
  const result = spawnSync("tar", ["-tvf", "-", "--numeric-owner", "--full-time"], {
    input: archive,
    encoding: "utf8",
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return result.stdout.trim().split("\n");
}

const longDir = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(60)}`;
const veryLong = `${"x".repeat(120)}/${"y".repeat(120)}`;

const entries: TarEntry[] = [
  { name: "bin", type: "directory", mode: 0o755, mtime: 1700000000 },
  {
    name: "bin/busybox",
    type: "file",
    mode: 0o4755,
    uid: 0,
    gid: 0,
    mtime: 1700000001,
    body: "#!binary",
  },
  { name: "bin/sh", type: "symlink", linkname: "busybox" },
  { name: "bin/ash", type: "hardlink", linkname: "bin/busybox" },
  { name: "dev/null", type: "chardev", mode: 0o666, devmajor: 1, devminor: 3 },
  { name: "dev/loop0", type: "blockdev", mode: 0o660, devmajor: 7, devminor: 0 },
  { name: "run/fifo", type: "fifo", mode: 0o600 },
  {
    name: "home/user/file",
    type: "file",
    mode: 0o640,
    uid: 1000,
    gid: 1001,
    uname: "user",
    gname: "staff",
    body: "x".repeat(513),
  },
  { name: `${longDir}/ustar-split`, type: "file", body: "split" },
  { name: `${veryLong}/pax-path`, type: "file", body: "pax" },
  { name: "link-to-long", type: "symlink", linkname: `/${veryLong}/target` },
  { name: "big-ids", type: "file", uid: 5_000_000, gid: 3_000_000_000, body: "" },
  { name: "frac-time", type: "file", mtime: 1700000000.25, body: "t" },
  {
    name: "caps",
    type: "file",
    mode: 0o755,
    xattrs: {
      "security.capability": Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]),
      "user.note": "hello",
    },
    body: "c",
  },
  { name: "ünïcode-名前", type: "file", body: "u" },
  { name: "opaque/", type: "directory", mode: 0o1777, xattrs: { "trusted.overlay.opaque": "y" } },
];

describe("tar writer", () => {
  test("every field round-trips through a strict reader", () => {
    const archive = tarBuffer(entries);
    expect(archive.length % 512).toBe(0);
    const read = readTar(archive);
    expect(read.map((e) => e.name)).toEqual([
      "bin/",
      "bin/busybox",
      "bin/sh",
      "bin/ash",
      "dev/null",
      "dev/loop0",
      "run/fifo",
      "home/user/file",
      `${longDir}/ustar-split`,
      `${veryLong}/pax-path`,
      "link-to-long",
      "big-ids",
      "frac-time",
      "caps",
      "ünïcode-名前",
      "opaque/",
    ]);
    const byName = new Map(read.map((e) => [e.name, e]));
    expect(byName.get("bin/")).toMatchObject({ type: "5", mode: 0o755, mtime: "1700000000" });
    expect(byName.get("bin/busybox")).toMatchObject({
      type: "0",
      mode: 0o4755,
      size: 8,
      mtime: "1700000001",
    });
    expect(byName.get("bin/busybox")!.body.toString()).toBe("#!binary");
    expect(byName.get("bin/sh")).toMatchObject({ type: "2", linkname: "busybox", size: 0 });
    expect(byName.get("bin/ash")).toMatchObject({ type: "1", linkname: "bin/busybox", size: 0 });
    expect(byName.get("dev/null")).toMatchObject({
      type: "3",
      mode: 0o666,
      devmajor: 1,
      devminor: 3,
    });
    expect(byName.get("dev/loop0")).toMatchObject({ type: "4", devmajor: 7, devminor: 0 });
    expect(byName.get("run/fifo")).toMatchObject({ type: "6", mode: 0o600 });
    expect(byName.get("home/user/file")).toMatchObject({
      uid: 1000,
      gid: 1001,
      uname: "user",
      gname: "staff",
      size: 513,
      mode: 0o640,
    });
    // A path that fits ustar's prefix + name needs no pax header; a longer one does.
    expect(byName.get(`${longDir}/ustar-split`)!.pax).toEqual({});
    expect(byName.get(`${veryLong}/pax-path`)!.pax.path).toBe(`${veryLong}/pax-path`);
    expect(byName.get("link-to-long")!.pax.linkpath).toBe(`/${veryLong}/target`);
    expect(byName.get("big-ids")).toMatchObject({ uid: 5_000_000, gid: 3_000_000_000 });
    expect(byName.get("frac-time")!.mtime).toBe("1700000000.25");
    const caps = byName.get("caps")!;
    expect(Buffer.from(caps.pax["SCHILY.xattr.security.capability"]!, "latin1")).toEqual(
      Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]),
    );
    expect(caps.pax["SCHILY.xattr.user.note"]).toBe("hello");
    expect(byName.get("opaque/")).toMatchObject({ type: "5", mode: 0o1777 });
    expect(byName.get("opaque/")!.pax["SCHILY.xattr.trusted.overlay.opaque"]).toBe("y");
  });

  test("GNU tar reads the archive: names, types, modes, owners, links, devices", () => {
    const lines = gnuTarList(tarBuffer(entries));
    expect(lines).toHaveLength(entries.length);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 +0 2023-11-14 22:13:20 bin\/$/);
    expect(lines[1]).toMatch(/^-rwsr-xr-x 0\/0 +8 .* bin\/busybox$/);
    expect(lines[2]).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/);
    expect(lines[3]).toMatch(/^hrw-r--r-- .* bin\/ash link to bin\/busybox$/);
    expect(lines[4]).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* dev\/null$/);
    expect(lines[5]).toMatch(/^brw-rw---- 0\/0 +7,0 .* dev\/loop0$/);
    expect(lines[6]).toMatch(/^prw------- .* run\/fifo$/);
    expect(lines[7]).toMatch(/^-rw-r----- 1000\/1001 +513 .* home\/user\/file$/);
    expect(lines[8]).toContain(`${longDir}/ustar-split`);
    expect(lines[9]).toContain(`${veryLong}/pax-path`);
    expect(lines[10]).toContain(`link-to-long -> /${veryLong}/target`);
    expect(lines[11]).toMatch(/ 5000000\/3000000000 /);
    expect(lines[14]).toContain("ünïcode-名前");
    expect(lines[15]).toMatch(/^drwxrwxrwt .* opaque\/$/);
  });

  test("the streaming writer produces the same bytes and checks body sizes", async () => {
    const writer = new TarWriter();
    const chunks: Buffer[] = [];
    writer.stream.on("data", (c: Buffer) => chunks.push(c));
    const done = new Promise((resolve) => writer.stream.on("end", resolve));
    for (const { body, ...header } of entries) {
      if (header.type === "file" && body !== undefined) {
        const data = Buffer.from(body);
        await writer.add(
          { ...header, size: data.length },
          Readable.from([data.subarray(0, 3), data.subarray(3)]),
        );
      } else {
        await writer.add(header);
      }
    }
    await writer.finish();
    await done;
    expect(Buffer.concat(chunks)).toEqual(tarBuffer(entries));

    const short = new TarWriter();
    short.stream.resume();
    short.stream.on("error", () => undefined);
    await expect(
      short.add({ name: "f", type: "file", size: 10 }, Buffer.from("abc")),
    ).rejects.toThrow(/body has 3 bytes, header says 10/);
  });

  test("a large streamed file keeps backpressure and its size", async () => {
    const writer = new TarWriter();
    let total = 0;
    writer.stream.on("data", (c: Buffer) => (total += c.length));
    const done = new Promise((resolve) => writer.stream.on("end", resolve));
    const piece = Buffer.alloc(1 << 20, 7);
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 8; i++) yield piece;
    }
    await writer.add({ name: "big", type: "file", size: 8 << 20 }, body());
    await writer.finish();
    await done;
    expect(total).toBe(512 + (8 << 20) + 1024);
  });

  test("a header alone is one block; pax adds a block pair", () => {
    expect(encodeHeader({ name: "a", type: "file", size: 0 })).toHaveLength(512);
    expect(encodeHeader({ name: "a", type: "file", xattrs: { "user.a": "b" } })).toHaveLength(1536);
  });
});
