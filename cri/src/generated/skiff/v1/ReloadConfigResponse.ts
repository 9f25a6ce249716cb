// Original file: proto/skiff/v1/config.proto

import type { Long } from "@grpc/proto-loader";

export interface ReloadConfigResponse {
  files?: string[];
  loaded_at_ns?: number | string | Long;
}

export interface ReloadConfigResponse__Output {
  files: string[];
  loaded_at_ns: string;
}
