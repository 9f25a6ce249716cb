import { expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import { chainIds } from "./chain-id.js";
import { compressionOf } from "./media-types.js";

test("chain ids: the first is the diff id, each next hashes the previous and its diff id", () => {
  const a = `sha256:${"a".repeat(64)}`;
  const b = `sha256:${"b".repeat(64)}`;
  const ab = `sha256:${createHash("sha256").update(`${a} ${b}`).digest("hex")}`;
  expect(chainIds([a, b])).toEqual([a, ab]);
  expect(chainIds([])).toEqual([]);
});

test("compression follows the layer media type; unknown types are refused", () => {
  expect(compressionOf("application/vnd.oci.image.layer.v1.tar+zstd")).toBe("zstd");
  expect(compressionOf("application/vnd.docker.image.rootfs.diff.tar.gzip")).toBe("gzip");
  expect(compressionOf("application/vnd.oci.image.layer.v1.tar")).toBe("none");
  expect(() => compressionOf("application/x-rar")).toThrow(/unsupported layer media type/);
});
