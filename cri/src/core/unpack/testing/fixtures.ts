/**
 * Test fixtures for layer unpacking: the unpack command, layers built in memory,
 * xattr reads (Node has no getxattr) and overlay mounts with guaranteed cleanup.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { shimBinary } from "../../shim/launch.js";
import type { Mount } from "../../snapshots/snapshotter.js";
import type { Compression } from "../media-types.js";
import type { Layer } from "../layer-apply.js";

/** The unpack command: $SKIFF_UNPACK_COMMAND (space-separated) if set, else skiff-shim's. */
export function unpackCommand(): string[] {
  const fromEnv = process.env["SKIFF_UNPACK_COMMAND"];
  if (fromEnv) return fromEnv.split(" ").filter(Boolean);
  return [shimBinary(), "unpack"];
}

const mediaTypes: Record<Compression, string> = {
  none: "application/vnd.oci.image.layer.v1.tar",
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

const sha256 = (data: Buffer): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A layer from a tar in memory; `blob` overrides the compressed bytes (to corrupt them). */
export function memoryLayer(tar: Buffer, compression: Compression = "gzip", blob?: Buffer): Layer {
  const compressed =
    blob ??
    (compression === "gzip" ? gzipSync(tar) : compression === "zstd" ? zstdCompressSync(tar) : tar);
  return {
    digest: sha256(compressed),
    diffId: sha256(tar),
    mediaType: mediaTypes[compression],
    open: async () => Readable.from([compressed]),
  };
}

export function getXattr(path: string, name: string): string | undefined {
  const out = execFileSync("python3", [
    "-c",
    "import os,sys\ntry: sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())\nexcept OSError: sys.exit(3)",
    path,
    name,
  ]).toString();
  return out;
}

export function hasXattr(path: string, name: string): boolean {
  try {
    getXattr(path, name);
    return true;
  } catch {
    return false;
  }
}

/** Mounts `mounts` (one) on `target`, runs fn, and always unmounts. */
export async function withMount<T>(
  mounts: Mount[],
  target: string,
  fn: () => Promise<T> | T,
): Promise<T> {
  const [m] = mounts;
  if (mounts.length !== 1 || m === undefined) throw new Error("one mount expected");
  const options = m.type === "bind" ? m.options.filter((o) => o !== "ro" && o !== "rw") : m.options;
  execFileSync("mount", ["-t", m.type, "-o", options.join(","), m.source, target]);
  try {
    if (m.type === "bind" && m.options.includes("ro")) {
      execFileSync("mount", ["-o", "remount,bind,ro", target]);
    }
    return await fn();
  } finally {
    execFileSync("umount", [target]);
  }
}
