/**
 * SPDY/3.1 framing without a network: frames survive arbitrary splits, header blocks
 * round-trip through our encoder and through real zlib (as Go's peers compress them,
 * with the dictionary and a sync flush per block), and bounds are enforced.
 */
import { describe, expect, test } from "@jest/globals";
import * as zlib from "node:zlib";
import { adler32 } from "./adler32-for-test.js";
import { spdy3Dictionary } from "./dictionary.js";
import {
  FrameParser,
  FrameType,
  HeaderDecoder,
  HeaderEncoder,
  SpdyProtocolError,
  encodeDataHeader,
  encodePing,
  encodeRst,
  encodeSynStream,
  rawHeaderBlock,
} from "./frames.js";

describe("SPDY/3 frames", () => {
  test("the dictionary is the spec's 1423 bytes", () => {
    expect(spdy3Dictionary.length).toBe(1423);
    expect(spdy3Dictionary.subarray(0, 11).toString("latin1")).toBe("\0\0\0\u0007options");
    expect(spdy3Dictionary.subarray(-7).toString("latin1")).toBe(",enq=0.");
    expect(adler32(spdy3Dictionary)).toBe(0xe3c6a7c2);
  });

  test("frames parse across any split of the byte stream", () => {
    const enc = new HeaderEncoder();
    const bytes = Buffer.concat([
      encodeSynStream(1, 0, enc.encode([["streamtype", "error"]])),
      encodeDataHeader(1, 1, 3),
      Buffer.from("abc"),
      encodePing(7),
      encodeRst(3, 5),
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new FrameParser();
      const frames = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      expect(frames.map((f) => (f.control ? f.type : "data"))).toEqual([
        FrameType.SynStream,
        "data",
        FrameType.Ping,
        FrameType.RstStream,
      ]);
    }
  });

  test("oversized frames and other versions are protocol errors", () => {
    expect(() => new FrameParser(16).push(encodeDataHeader(1, 0, 17))).toThrow(SpdyProtocolError);
    const v2 = encodePing(1);
    v2.writeUInt16BE(0x8002, 0);
    expect(() => new FrameParser().push(v2)).toThrow(/version 2/);
  });

  test("header blocks round-trip through our encoder, many in a row", () => {
    const enc = new HeaderEncoder();
    const dec = new HeaderDecoder();
    for (let i = 0; i < 50; i++) {
      const h: [string, string][] = [
        ["streamtype", "data"],
        ["port", String(8000 + i)],
        ["requestid", String(i)],
      ];
      expect(dec.decode(enc.encode(h))).toEqual(h);
    }
  });

  test("header blocks from a real zlib peer (dictionary, sync flush per block) decode", async () => {
    const deflate = zlib.createDeflate({ dictionary: spdy3Dictionary, level: 9 });
    const out: Buffer[] = [];
    deflate.on("data", (c: Buffer) => out.push(c));
    const dec = new HeaderDecoder();
    for (let i = 0; i < 200; i++) {
      const h: [string, string][] = [
        ["streamtype", i % 2 ? "data" : "error"],
        ["port", "80"],
        ["requestid", String(i)],
      ];
      deflate.write(rawHeaderBlock(h));
      await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      expect(dec.decode(Buffer.concat(out.splice(0)))).toEqual(h);
    }
    deflate.close();
  });

  test("our header blocks are a valid zlib stream for any inflater", () => {
    const enc = new HeaderEncoder();
    const blocks = [enc.encode([["a", "1"]]), enc.encode([["b", "2\u00003"]])];
    const raw = zlib.inflateSync(Buffer.concat(blocks), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    expect(raw).toEqual(
      Buffer.concat([rawHeaderBlock([["a", "1"]]), rawHeaderBlock([["b", "2\u00003"]])]),
    );
  });
});
