// Original file: proto/skiff/v1/events.proto

import type { Long } from "@grpc/proto-loader";

export interface Event {
  type?: string;
  action?: string;
  id?: string;
  attributes?: { [key: string]: string };
  timestamp_ns?: number | string | Long;
}

export interface Event__Output {
  type: string;
  action: string;
  id: string;
  attributes: { [key: string]: string };
  timestamp_ns: string;
}
