// Original file: proto/skiff/v1/images.proto

import type {
  ArchiveFormat as _skiff_v1_ArchiveFormat,
  ArchiveFormat__Output as _skiff_v1_ArchiveFormat__Output,
} from "../../skiff/v1/ArchiveFormat.js";

export interface SaveRequest {
  images?: string[];
  format?: _skiff_v1_ArchiveFormat;
}

export interface SaveRequest__Output {
  images: string[];
  format: _skiff_v1_ArchiveFormat__Output;
}
