import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tarBuffer } from "../../core/archive/tar-writer.js";
import { indexTar, normaliseName } from "./tar-index.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-tar-index-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

describe("indexTar", () => {
  test("indexes regular files with their byte ranges; long (pax) names; skips other types", async () => {
    const long = `blobs/sha256/${"d".repeat(64)}/${"x".repeat(120)}`;
    const path = write(
      "a.tar",
      tarBuffer([
        { name: "blobs", type: "directory" },
        { name: "./index.json", type: "file", body: '{"a":1}' },
        { name: "link", type: "symlink", linkname: "index.json" },
        { name: long, type: "file", body: "long name" },
        { name: "empty", type: "file", body: "" },
      ]),
    );
    const entries = await indexTar(path);
    expect([...entries.keys()]).toEqual(["index.json", long, "empty"]);
    const bytes = readFileSync(path);
    const at = (n: string) => {
      const e = entries.get(n)!;
      return bytes.subarray(e.offset, e.offset + e.size).toString();
    };
    expect(at("index.json")).toBe('{"a":1}');
    expect(at(long)).toBe("long name");
    expect(entries.get("empty")?.size).toBe(0);
  });

  test("a truncated archive or an escaping name is InvalidArgument", async () => {
    const whole = tarBuffer([{ name: "f", type: "file", body: "x".repeat(2000) }]);
    await expect(indexTar(write("t.tar", whole.subarray(0, 1024)))).rejects.toMatchObject({
      kind: "InvalidArgument",
    });
    const climbing = tarBuffer([{ name: "../up", type: "file", body: "x" }]);
    await expect(indexTar(write("c.tar", climbing))).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringMatching(/outside the archive/),
    });
    expect(normaliseName("./a//b/")).toBe("a/b");
    expect(() => normaliseName("/etc/passwd")).toThrow(/outside/);
  });
});
