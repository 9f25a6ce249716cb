// Original file: proto/skiff/v1/containers.proto

import type * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type {
  CommitRequest as _skiff_v1_CommitRequest,
  CommitRequest__Output as _skiff_v1_CommitRequest__Output,
} from "../../skiff/v1/CommitRequest.js";
import type {
  CommitResponse as _skiff_v1_CommitResponse,
  CommitResponse__Output as _skiff_v1_CommitResponse__Output,
} from "../../skiff/v1/CommitResponse.js";
import type {
  ExportChunk as _skiff_v1_ExportChunk,
  ExportChunk__Output as _skiff_v1_ExportChunk__Output,
} from "../../skiff/v1/ExportChunk.js";
import type {
  ExportRequest as _skiff_v1_ExportRequest,
  ExportRequest__Output as _skiff_v1_ExportRequest__Output,
} from "../../skiff/v1/ExportRequest.js";
import type {
  ImportChunk as _skiff_v1_ImportChunk,
  ImportChunk__Output as _skiff_v1_ImportChunk__Output,
} from "../../skiff/v1/ImportChunk.js";
import type {
  ImportResponse as _skiff_v1_ImportResponse,
  ImportResponse__Output as _skiff_v1_ImportResponse__Output,
} from "../../skiff/v1/ImportResponse.js";

export interface ContainersClient extends grpc.Client {
  Commit(
    argument: _skiff_v1_CommitRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  Commit(
    argument: _skiff_v1_CommitRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  Commit(
    argument: _skiff_v1_CommitRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  Commit(
    argument: _skiff_v1_CommitRequest,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  commit(
    argument: _skiff_v1_CommitRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  commit(
    argument: _skiff_v1_CommitRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  commit(
    argument: _skiff_v1_CommitRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;
  commit(
    argument: _skiff_v1_CommitRequest,
    callback: grpc.requestCallback<_skiff_v1_CommitResponse__Output>,
  ): grpc.ClientUnaryCall;

  Export(
    argument: _skiff_v1_ExportRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ExportChunk__Output>;
  Export(
    argument: _skiff_v1_ExportRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ExportChunk__Output>;
  export(
    argument: _skiff_v1_ExportRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ExportChunk__Output>;
  export(
    argument: _skiff_v1_ExportRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ExportChunk__Output>;

  Import(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  Import(
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  Import(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  Import(
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  import(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  import(
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  import(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
  import(
    callback: grpc.requestCallback<_skiff_v1_ImportResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ImportChunk>;
}

export interface ContainersHandlers extends grpc.UntypedServiceImplementation {
  Commit: grpc.handleUnaryCall<_skiff_v1_CommitRequest__Output, _skiff_v1_CommitResponse>;

  Export: grpc.handleServerStreamingCall<_skiff_v1_ExportRequest__Output, _skiff_v1_ExportChunk>;

  Import: grpc.handleClientStreamingCall<_skiff_v1_ImportChunk__Output, _skiff_v1_ImportResponse>;
}

export interface ContainersDefinition extends grpc.ServiceDefinition {
  Commit: MethodDefinition<
    _skiff_v1_CommitRequest,
    _skiff_v1_CommitResponse,
    _skiff_v1_CommitRequest__Output,
    _skiff_v1_CommitResponse__Output
  >;
  Export: MethodDefinition<
    _skiff_v1_ExportRequest,
    _skiff_v1_ExportChunk,
    _skiff_v1_ExportRequest__Output,
    _skiff_v1_ExportChunk__Output
  >;
  Import: MethodDefinition<
    _skiff_v1_ImportChunk,
    _skiff_v1_ImportResponse,
    _skiff_v1_ImportChunk__Output,
    _skiff_v1_ImportResponse__Output
  >;
}
