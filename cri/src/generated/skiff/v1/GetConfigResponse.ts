// Original file: proto/skiff/v1/config.proto

import type { Long } from "@grpc/proto-loader";

export interface GetConfigResponse {
  yaml?: string;
  files?: string[];
  loaded_at_ns?: number | string | Long;
}

export interface GetConfigResponse__Output {
  yaml: string;
  files: string[];
  loaded_at_ns: string;
}
