/**
 * Layer media types (OCI image-spec layer.md, Docker image manifest v2 schema 2) and the
 * compression each implies.
 */
import { SkiffError } from "../errors.js";

export type Compression = "none" | "gzip" | "zstd";

const compressionByType: Record<string, Compression> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar": "none",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
};

export function compressionOf(mediaType: string): Compression {
  const compression = compressionByType[mediaType];
  if (compression === undefined) {
    throw new SkiffError(
      "Unimplemented",
      `unsupported layer media type ${JSON.stringify(mediaType)}`,
    );
  }
  return compression;
}
