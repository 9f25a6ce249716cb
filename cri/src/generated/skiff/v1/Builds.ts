// Original file: proto/skiff/v1/builds.proto

import type * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type {
  BuildEvent as _skiff_v1_BuildEvent,
  BuildEvent__Output as _skiff_v1_BuildEvent__Output,
} from "../../skiff/v1/BuildEvent.js";
import type {
  BuildRequest as _skiff_v1_BuildRequest,
  BuildRequest__Output as _skiff_v1_BuildRequest__Output,
} from "../../skiff/v1/BuildRequest.js";

export interface BuildsClient extends grpc.Client {
  Build(
    argument: _skiff_v1_BuildRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_BuildEvent__Output>;
  Build(
    argument: _skiff_v1_BuildRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_BuildEvent__Output>;
  build(
    argument: _skiff_v1_BuildRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_BuildEvent__Output>;
  build(
    argument: _skiff_v1_BuildRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_BuildEvent__Output>;
}

export interface BuildsHandlers extends grpc.UntypedServiceImplementation {
  Build: grpc.handleServerStreamingCall<_skiff_v1_BuildRequest__Output, _skiff_v1_BuildEvent>;
}

export interface BuildsDefinition extends grpc.ServiceDefinition {
  Build: MethodDefinition<
    _skiff_v1_BuildRequest,
    _skiff_v1_BuildEvent,
    _skiff_v1_BuildRequest__Output,
    _skiff_v1_BuildEvent__Output
  >;
}
