/**
 * A tar reader for image archives (docker save / OCI layout tarballs) that sit in a
 * file: one pass over the headers records where each regular file's data lies, so
 * blobs can be streamed from their byte range later. Understands ustar (name + prefix),
 * pax extended headers ('x': path, size; 'g' ignored) and GNU long names ('L').
 *
 * Invariants: names are normalised ("./a//b" → "a/b"); a name that climbs out ("..")
 * or is absolute is refused; only regular files are indexed (archives of images hold
 * nothing else that matters); a truncated archive is an error.
 */
import { open } from "node:fs/promises";
import { posix } from "node:path";
import { invalidArgument } from "../../core/errors.js";

export interface TarFileEntry {
  name: string;
  /** Byte offset of the data in the archive file. */
  offset: number;
  size: number;
}

const block = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? length : nul).toString("utf8");
}

function numeric(header: Buffer, start: number, length: number, what: string): number {
  const first = header[start] ?? 0;
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement, positive only here
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + (header[start + i] ?? 0);
    return value + (first & 0x7f) * 256 ** (length - 1);
  }
  const text = field(header, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw invalidArgument(`archive: bad ${what} field "${text}"`);
  return parseInt(text, 8);
}

/** pax records "len key=value\n"... */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString("ascii"), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** The archive's name for an entry, normalised, or an error when it leaves the archive. */
export function normaliseName(name: string): string {
  const clean = posix.normalize(name.replace(/^(\.\/)+/, "")).replace(/\/+$/, "");
  if (clean.startsWith("/") || clean === ".." || clean.startsWith("../")) {
    throw invalidArgument(`archive: entry "${name}" points outside the archive`);
  }
  return clean;
}

/** Indexes the regular files of the tar archive at `path`. */
export async function indexTar(path: string): Promise<Map<string, TarFileEntry>> {
  const entries = new Map<string, TarFileEntry>();
  const fh = await open(path, "r");
  try {
    const { size: total } = await fh.stat();
    const header = Buffer.alloc(block);
    let at = 0;
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    const readData = async (offset: number, size: number): Promise<Buffer> => {
      if (size > 1 << 20) throw invalidArgument("archive: an extended header is too large");
      const data = Buffer.alloc(size);
      const { bytesRead } = await fh.read(data, 0, size, offset);
      if (bytesRead !== size) throw invalidArgument("archive: truncated");
      return data;
    };
    for (;;) {
      if (at + block > total) throw invalidArgument("archive: truncated (no end marker)");
      const { bytesRead } = await fh.read(header, 0, block, at);
      if (bytesRead !== block) throw invalidArgument("archive: truncated");
      if (header.every((b) => b === 0)) break;
      let size = numeric(header, 124, 12, "size");
      const type = String.fromCharCode(header[156] ?? 0);
      const dataAt = at + block;
      const next = dataAt + Math.ceil(size / block) * block;
      if (type === "x") {
        pax = paxRecords(await readData(dataAt, size));
      } else if (type === "g") {
        // global pax header: nothing an image archive needs
      } else if (type === "L") {
        longName = (await readData(dataAt, size)).toString("utf8").replace(/\0+$/, "");
      } else {
        let name = field(header, 0, 100);
        const magic = field(header, 257, 6);
        const prefix = magic.startsWith("ustar") ? field(header, 345, 155) : "";
        if (prefix !== "") name = `${prefix}/${name}`;
        if (longName !== undefined) name = longName;
        if (pax["path"] !== undefined) name = pax["path"];
        if (pax["size"] !== undefined) size = Number(pax["size"]);
        if (type === "0" || type === "\0" || type === "7") {
          const clean = normaliseName(name);
          if (dataAt + size > total) throw invalidArgument(`archive: ${clean} is truncated`);
          entries.set(clean, { name: clean, offset: dataAt, size });
        }
        pax = {};
        longName = undefined;
        at = dataAt + Math.ceil(size / block) * block;
        continue;
      }
      at = next;
    }
  } finally {
    await fh.close();
  }
  return entries;
}
