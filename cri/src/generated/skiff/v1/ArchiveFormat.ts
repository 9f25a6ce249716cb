// Original file: proto/skiff/v1/images.proto

export const ArchiveFormat = {
  OCI_LAYOUT: "OCI_LAYOUT",
  DOCKER_ARCHIVE: "DOCKER_ARCHIVE",
} as const;

export type ArchiveFormat = "OCI_LAYOUT" | 0 | "DOCKER_ARCHIVE" | 1;

export type ArchiveFormat__Output = (typeof ArchiveFormat)[keyof typeof ArchiveFormat];
