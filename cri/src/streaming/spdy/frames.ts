/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 connection window):
 * frame encoding, an incremental frame parser with a size bound, and the zlib header
 * block codec.
 *
 *   control frame: |1| version(15)=3 | type(16) | flags(8) | length(24) | data
 *   data frame:    |0| stream-id(31)            | flags(8) | length(24) | data
 *
 * Header blocks are one zlib stream per direction per connection, seeded with the
 * SPDY/3 dictionary. The encoder emits stored (uncompressed) deflate blocks ending in
 * an empty stored block, exactly the shape of a zlib sync flush, which any inflater
 * reads as a continuation of the stream; the decoder is described below.
 */
import * as zlib from "node:zlib";
import { spdy3Dictionary } from "./dictionary.js";

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

export const SETTINGS_MAX_CONCURRENT_STREAMS = 4;
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
export const DEFAULT_WINDOW = 64 * 1024;

export type HeaderList = [name: string, value: string][];

export interface ControlFrame {
  control: true;
  type: number;
  flags: number;
  data: Buffer;
}

export interface DataFrame {
  control: false;
  streamId: number;
  flags: number;
  data: Buffer;
}

export type Frame = ControlFrame | DataFrame;

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpdyProtocolError";
  }
}

export function encodeControl(type: number, flags: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + data.length);
  out.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(out, 8);
  return out;
}

export function encodeDataHeader(streamId: number, flags: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return out;
}

export function encodeSynStream(
  streamId: number,
  flags: number,
  block: Buffer,
  priority = 0,
): Buffer {
  const data = Buffer.alloc(10 + block.length);
  data.writeUInt32BE(streamId & 0x7fffffff, 0);
  data.writeUInt32BE(0, 4);
  data.writeUInt8((priority & 0x7) << 5, 8);
  block.copy(data, 10);
  return encodeControl(FrameType.SynStream, flags, data);
}

export function encodeSynReply(streamId: number, flags: number, block: Buffer): Buffer {
  const data = Buffer.alloc(4 + block.length);
  data.writeUInt32BE(streamId & 0x7fffffff, 0);
  block.copy(data, 4);
  return encodeControl(FrameType.SynReply, flags, data);
}

export function encodeRst(streamId: number, status: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32BE(streamId & 0x7fffffff, 0);
  data.writeUInt32BE(status, 4);
  return encodeControl(FrameType.RstStream, 0, data);
}

export function encodePing(id: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeUInt32BE(id >>> 0, 0);
  return encodeControl(FrameType.Ping, 0, data);
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  data.writeUInt32BE(status, 4);
  return encodeControl(FrameType.GoAway, 0, data);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32BE(streamId & 0x7fffffff, 0);
  data.writeUInt32BE(delta & 0x7fffffff, 4);
  return encodeControl(FrameType.WindowUpdate, 0, data);
}

export function encodeSettings(entries: [id: number, value: number][]): Buffer {
  const data = Buffer.alloc(4 + 8 * entries.length);
  data.writeUInt32BE(entries.length, 0);
  entries.forEach(([id, value], i) => {
    data.writeUInt32BE(id & 0xffffff, 4 + 8 * i);
    data.writeUInt32BE(value >>> 0, 8 + 8 * i);
  });
  return encodeControl(FrameType.Settings, 0, data);
}

export function parseSettings(data: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  if (data.length < 4) throw new SpdyProtocolError("short SETTINGS frame");
  const n = data.readUInt32BE(0);
  if (data.length < 4 + 8 * n) throw new SpdyProtocolError("short SETTINGS frame");
  for (let i = 0; i < n; i++) {
    out.set(data.readUInt32BE(4 + 8 * i) & 0xffffff, data.readUInt32BE(8 + 8 * i));
  }
  return out;
}

/** Incremental parser: feed socket chunks, get whole frames. */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameLength = 16 * 1024 * 1024) {}

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(8);
      const length = head.readUInt32BE(4) & 0xffffff;
      if (length > this.maxFrameLength) {
        throw new SpdyProtocolError(`frame of ${length} bytes exceeds ${this.maxFrameLength}`);
      }
      if (this.buffered < 8 + length) break;
      const whole = this.take(8 + length);
      const flags = whole.readUInt8(4);
      const data = whole.subarray(8);
      if (whole[0]! & 0x80) {
        const version = whole.readUInt16BE(0) & 0x7fff;
        if (version !== SPDY_VERSION) {
          throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        }
        frames.push({ control: true, type: whole.readUInt16BE(2), flags, data });
      } else {
        frames.push({ control: false, streamId: whole.readUInt32BE(0) & 0x7fffffff, flags, data });
      }
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** Serializes header blocks into this direction's zlib stream (stored blocks). */
export class HeaderEncoder {
  private started = false;

  encode(headers: HeaderList): Buffer {
    const raw = rawHeaderBlock(headers);
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    for (let off = 0; off < raw.length; off += 0xffff) {
      const piece = raw.subarray(off, Math.min(raw.length, off + 0xffff));
      const head = Buffer.alloc(5);
      head.writeUInt16LE(piece.length, 1);
      head.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(head, piece);
    }
    // An empty stored block, as a zlib sync flush ends: inflaters (Go's among them)
    // hand out the block's bytes only when they reach it.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

export function rawHeaderBlock(headers: HeaderList): Buffer {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const list = grouped.get(key) ?? [];
    list.push(value);
    grouped.set(key, list);
  }
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(grouped.size);
  parts.push(count);
  for (const [name, values] of grouped) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(values.join("\0"), "utf8");
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(n.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length);
    parts.push(nl, n, vl, v);
  }
  return Buffer.concat(parts);
}

/**
 * Reads header blocks out of the peer's zlib stream. Every SPDY header block ends on
 * a sync flush (byte aligned, no pending bits), so each later block is a raw deflate
 * continuation whose only state is the last 32 KiB of output: it is inflated with
 * that window as its preset dictionary. The first block carries the zlib header and
 * the SPDY dictionary.
 */
export class HeaderDecoder {
  private history: Buffer | undefined;

  constructor(private readonly maxBlock = 256 * 1024) {}

  decode(block: Buffer): HeaderList {
    let raw: Buffer;
    const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: this.maxBlock };
    try {
      if (this.history === undefined) {
        raw = zlib.inflateSync(block, { ...opts, dictionary: spdy3Dictionary });
        this.history = Buffer.concat([spdy3Dictionary, raw]);
      } else {
        raw = zlib.inflateRawSync(block, { ...opts, dictionary: this.history });
        this.history = Buffer.concat([this.history, raw]);
      }
      if (this.history.length > 32 * 1024)
        this.history = this.history.subarray(this.history.length - 32 * 1024);
    } catch (err) {
      throw new SpdyProtocolError(`header block: ${(err as Error).message}`);
    }
    return parseRawHeaderBlock(raw, this.maxBlock);
  }

  close(): void {
    this.history = undefined;
  }
}

export function parseRawHeaderBlock(raw: Buffer, max = 256 * 1024): HeaderList {
  if (raw.length > max) throw new SpdyProtocolError("header block too large");
  const out: HeaderList = [];
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > raw.length) throw new SpdyProtocolError("truncated header block");
    const v = raw.readUInt32BE(off);
    off += 4;
    return v;
  };
  const str = (len: number): string => {
    if (off + len > raw.length) throw new SpdyProtocolError("truncated header block");
    const s = raw.toString("utf8", off, off + len);
    off += len;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = str(u32());
    const value = str(u32());
    for (const v of value.split("\0")) out.push([name, v]);
  }
  return out;
}

export function headerValue(headers: HeaderList, name: string): string | undefined {
  const key = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === key)?.[1];
}
