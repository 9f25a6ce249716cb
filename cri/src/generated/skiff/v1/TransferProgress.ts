// Original file: proto/skiff/v1/images.proto

import type { Long } from "@grpc/proto-loader";

export interface TransferProgress {
  blob?: string;
  status?: string;
  current?: number | string | Long;
  total?: number | string | Long;
  done?: boolean;
  image_ref?: string;
}

export interface TransferProgress__Output {
  blob: string;
  status: string;
  current: string;
  total: string;
  done: boolean;
  image_ref: string;
}
