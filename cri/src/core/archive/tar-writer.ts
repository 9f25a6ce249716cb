/**
 * A streaming tar writer: POSIX ustar headers, with pax extended headers (typeflag 'x')
 * for whatever ustar cannot hold — paths and link targets longer than its fields or not
 * ASCII, sizes of 8 GiB and more, ids above 0o7777777, fractional or out-of-range times,
 * user and group names too long, and extended attributes as SCHILY.xattr.<name>
 * (the convention of GNU tar, bsdtar and the container image layer spec).
 *
 * Invariants: every entry is a 512-byte header block (after its pax block when needed)
 * followed by its data padded to 512 bytes; the archive ends with two zero blocks.
 * A file's body must have exactly the declared size, or add() rejects.
 */
import { PassThrough, type Readable } from "node:stream";

export type TarEntryType =
  "file" | "hardlink" | "symlink" | "chardev" | "blockdev" | "directory" | "fifo";

export interface TarHeader {
  /** Path inside the archive, without a leading "/" ("dir/file"; "dir/" for dirs is fine). */
  name: string;
  type: TarEntryType;
  /** Permission bits and setuid/setgid/sticky (0o7777). Defaults: 0o644; 0o755 dirs; 0o777 symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Bytes of a file's body; 0 for every other type. */
  size?: number;
  /** Seconds since the epoch (fractions kept through pax); defaults to 0. */
  mtime?: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as SCHILY.xattr.<name>. */
  xattrs?: Record<string, Buffer | string>;
}

const block = 512;
const typeFlags: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  chardev: "3",
  blockdev: "4",
  directory: "5",
  fifo: "6",
};
const defaultMode: Record<TarEntryType, number> = {
  file: 0o644,
  hardlink: 0o644,
  symlink: 0o777,
  chardev: 0o644,
  blockdev: 0o644,
  directory: 0o755,
  fifo: 0o644,
};
const maxOctal7 = 0o7777777;
const maxOctal11 = 0o77777777777;

/** The bytes of one entry's header (pax block included when needed). */
export function encodeHeader(header: TarHeader): Buffer {
  const size = header.type === "file" ? (header.size ?? 0) : 0;
  const mode = header.mode ?? defaultMode[header.type];
  const uid = header.uid ?? 0;
  const gid = header.gid ?? 0;
  const mtime = header.mtime ?? 0;
  const linkname = header.linkname ?? "";
  const uname = header.uname ?? "";
  const gname = header.gname ?? "";
  let name = header.name;
  if (header.type === "directory" && !name.endsWith("/")) name += "/";

  const pax: [string, Buffer | string][] = [];
  const split = splitName(name);
  if (split === undefined) pax.push(["path", name]);
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.push(["linkpath", linkname]);
  if (size > maxOctal11) pax.push(["size", String(size)]);
  if (uid > maxOctal7) pax.push(["uid", String(uid)]);
  if (gid > maxOctal7) pax.push(["gid", String(gid)]);
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > maxOctal11) {
    pax.push(["mtime", formatPaxTime(mtime)]);
  }
  if (Buffer.byteLength(uname) > 32 || !isAscii(uname)) pax.push(["uname", uname]);
  if (Buffer.byteLength(gname) > 32 || !isAscii(gname)) pax.push(["gname", gname]);
  for (const key of Object.keys(header.xattrs ?? {}).sort()) {
    pax.push([`SCHILY.xattr.${key}`, header.xattrs![key]!]);
  }

  const ustar = ustarBlock({
    name: split?.name ?? asciiTail(name, 100),
    prefix: split?.prefix ?? "",
    mode,
    uid: Math.min(uid, maxOctal7),
    gid: Math.min(gid, maxOctal7),
    size: Math.min(size, maxOctal11),
    mtime: Math.max(0, Math.min(Math.floor(mtime), maxOctal11)),
    typeflag: typeFlags[header.type],
    linkname: Buffer.byteLength(linkname) > 100 || !isAscii(linkname) ? "" : linkname,
    uname: Buffer.byteLength(uname) > 32 || !isAscii(uname) ? "" : uname,
    gname: Buffer.byteLength(gname) > 32 || !isAscii(gname) ? "" : gname,
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
  });
  if (pax.length === 0) return ustar;

  const records = Buffer.concat(pax.map(([key, value]) => paxRecord(key, value)));
  const paxName = asciiTail(`PaxHeaders.0/${baseName(name)}`, 100);
  const paxHeader = ustarBlock({
    name: paxName,
    prefix: "",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: 0,
    typeflag: "x",
    linkname: "",
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, records, padding(records.length), ustar]);
}

/** Zero bytes that pad `length` bytes of data to a whole block. */
export function padding(length: number): Buffer {
  const rest = length % block;
  return Buffer.alloc(rest === 0 ? 0 : block - rest);
}

/** The end-of-archive marker: two zero blocks. */
export const endOfArchive = (): Buffer => Buffer.alloc(2 * block);

/**
 * Writes entries one after another to `stream` (a Readable the caller pipes on).
 * add() waits for backpressure; finish() writes the end marker and ends the stream.
 */
export class TarWriter {
  readonly stream: PassThrough = new PassThrough({ highWaterMark: 256 * 1024 });
  private finished = false;

  async add(
    header: TarHeader,
    body?: Buffer | string | Readable | AsyncIterable<Buffer>,
  ): Promise<void> {
    if (this.finished) throw new Error("tar writer: add after finish");
    if (body !== undefined && header.type !== "file") {
      throw new Error(`tar writer: ${header.name}: only files have a body`);
    }
    let data = typeof body === "string" ? Buffer.from(body) : body;
    const size =
      header.type === "file" ? (header.size ?? (Buffer.isBuffer(data) ? data.length : 0)) : 0;
    await this.write(encodeHeader({ ...header, size }));
    if (header.type !== "file") return;
    if (data === undefined) data = Buffer.alloc(0);
    let written = 0;
    if (Buffer.isBuffer(data)) {
      written = data.length;
      if (written === size) await this.write(data);
    } else {
      for await (const chunk of data) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        written += buf.length;
        if (written > size) break;
        await this.write(buf);
      }
    }
    if (written !== size) {
      const err = new Error(
        `tar writer: ${header.name}: body has ${written} bytes, header says ${size}`,
      );
      this.stream.destroy(err);
      throw err;
    }
    await this.write(padding(size));
  }

  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.write(endOfArchive());
    this.stream.end();
  }

  private write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return Promise.resolve();
    if (this.stream.write(chunk)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.stream.off("error", onError);
        resolve();
      };
      const onError = (err: Error): void => {
        this.stream.off("drain", onDrain);
        reject(err);
      };
      this.stream.once("drain", onDrain);
      this.stream.once("error", onError);
    });
  }
}

export interface TarEntry extends TarHeader {
  body?: Buffer | string;
}

/** A whole archive in memory, for small archives (tests, image configs). */
export function tarBuffer(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const { body, ...header } = entry;
    const data = typeof body === "string" ? Buffer.from(body) : (body ?? Buffer.alloc(0));
    if (header.type === "file") {
      if (header.size !== undefined && header.size !== data.length) {
        throw new Error(
          `tar writer: ${header.name}: body has ${data.length} bytes, header says ${header.size}`,
        );
      }
      parts.push(encodeHeader({ ...header, size: data.length }), data, padding(data.length));
    } else {
      if (body !== undefined) throw new Error(`tar writer: ${header.name}: only files have a body`);
      parts.push(encodeHeader(header));
    }
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const buf = Buffer.alloc(block);
  buf.write(f.name, 0, 100, "utf8");
  octal(buf, 100, 8, f.mode & 0o7777);
  octal(buf, 108, 8, f.uid);
  octal(buf, 116, 8, f.gid);
  octal(buf, 124, 12, f.size);
  octal(buf, 136, 12, f.mtime);
  buf.write("        ", 148, 8, "ascii");
  buf.write(f.typeflag, 156, 1, "ascii");
  buf.write(f.linkname, 157, 100, "utf8");
  buf.write("ustar\x0000", 257, 8, "ascii");
  buf.write(f.uname, 265, 32, "utf8");
  buf.write(f.gname, 297, 32, "utf8");
  octal(buf, 329, 8, f.devmajor);
  octal(buf, 337, 8, f.devminor);
  buf.write(f.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return buf;
}

/** An octal number of width-1 digits and a NUL. */
function octal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, "0")}\0`, offset, width, "ascii");
}

/** Splits a path into ustar's prefix (155) and name (100) at a "/", or undefined. */
function splitName(path: string): { prefix: string; name: string } | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= 100) return { prefix: "", name: path };
  // The split "/" is dropped; a trailing "/" of a directory stays in the name part.
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/" || i === path.length - 1) continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
    if (name.length > 100) return undefined;
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from("\n")]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length)
    length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function formatPaxTime(seconds: number): string {
  if (Number.isInteger(seconds)) return String(seconds);
  const text = seconds.toFixed(9).replace(/0+$/, "");
  return text.endsWith(".") ? text.slice(0, -1) : text;
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The last `max` bytes of an ASCII rendering (a fallback ustar name when pax holds the real one). */
function asciiTail(text: string, max: number): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}
