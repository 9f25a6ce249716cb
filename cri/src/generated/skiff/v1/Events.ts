// Original file: proto/skiff/v1/events.proto

import type * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type {
  Event as _skiff_v1_Event,
  Event__Output as _skiff_v1_Event__Output,
} from "../../skiff/v1/Event.js";
import type {
  SubscribeRequest as _skiff_v1_SubscribeRequest,
  SubscribeRequest__Output as _skiff_v1_SubscribeRequest__Output,
} from "../../skiff/v1/SubscribeRequest.js";

export interface EventsClient extends grpc.Client {
  Subscribe(
    argument: _skiff_v1_SubscribeRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_Event__Output>;
  Subscribe(
    argument: _skiff_v1_SubscribeRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_Event__Output>;
  subscribe(
    argument: _skiff_v1_SubscribeRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_Event__Output>;
  subscribe(
    argument: _skiff_v1_SubscribeRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_Event__Output>;
}

export interface EventsHandlers extends grpc.UntypedServiceImplementation {
  Subscribe: grpc.handleServerStreamingCall<_skiff_v1_SubscribeRequest__Output, _skiff_v1_Event>;
}

export interface EventsDefinition extends grpc.ServiceDefinition {
  Subscribe: MethodDefinition<
    _skiff_v1_SubscribeRequest,
    _skiff_v1_Event,
    _skiff_v1_SubscribeRequest__Output,
    _skiff_v1_Event__Output
  >;
}
