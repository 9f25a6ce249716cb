/**
 * Pure pieces of remotecommand: the resize stream decoder, the status encodings of each
 * protocol version, and version numbers of the negotiated protocol names.
 */
import { describe, expect, test } from "@jest/globals";
import { protocolVersion } from "./remotecommand.js";
import { ResizeDecoder } from "./resize.js";
import {
  encodeStatus,
  exitCodeStatus,
  internalErrorStatus,
  statusExitCode,
  successStatus,
} from "./status.js";

describe("resize stream", () => {
  test("objects split anywhere and run together decode in order", () => {
    const d = new ResizeDecoder();
    const text = '{"Width":80,"Height":24}\n{"Width":100,"Height":40}{"Height":5,"Width":7}';
    const out = [];
    for (const ch of text) out.push(...d.push(ch));
    expect(out).toEqual([
      { width: 80, height: 24 },
      { width: 100, height: 40 },
      { width: 7, height: 5 },
    ]);
  });

  test("junk is skipped and the pending text stays bounded", () => {
    const d = new ResizeDecoder(64);
    expect(d.push('garbage {"Width":-1,"Height":3} {"Width":"x"} {"Width":1,"Height":2}')).toEqual([
      { width: 1, height: 2 },
    ]);
    expect(d.push("{" + "x".repeat(100))).toEqual([]);
    expect(d.push('} {"Width":3,"Height":4}')).toEqual([{ width: 3, height: 4 }]);
  });
});

describe("status", () => {
  test("v4+ carries JSON with the exit code as an ExitCode cause", () => {
    const s = exitCodeStatus(["sh", "-c", "exit 3"], 3);
    const bytes = encodeStatus(s, true)!;
    const parsed = JSON.parse(bytes.toString());
    expect(parsed).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
    expect(statusExitCode(parsed)).toBe(3);
    expect(encodeStatus(successStatus(), true)!.toString()).toBe(
      '{"metadata":{},"status":"Success"}',
    );
  });

  test("v1-v3 write nothing on success and the message otherwise", () => {
    expect(encodeStatus(successStatus(), false)).toBeUndefined();
    expect(encodeStatus(internalErrorStatus("boom"), false)!.toString()).toBe(
      "Internal error occurred: boom",
    );
  });

  test("protocol names map to versions", () => {
    expect(protocolVersion("v5.channel.k8s.io")).toBe(5);
    expect(protocolVersion("v3.channel.k8s.io")).toBe(3);
    expect(protocolVersion("channel.k8s.io")).toBe(1);
  });
});
