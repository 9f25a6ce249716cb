// Original file: proto/skiff/v1/images.proto

import type * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type {
  ArchiveChunk as _skiff_v1_ArchiveChunk,
  ArchiveChunk__Output as _skiff_v1_ArchiveChunk__Output,
} from "../../skiff/v1/ArchiveChunk.js";
import type {
  LoadResponse as _skiff_v1_LoadResponse,
  LoadResponse__Output as _skiff_v1_LoadResponse__Output,
} from "../../skiff/v1/LoadResponse.js";
import type {
  PullRequest as _skiff_v1_PullRequest,
  PullRequest__Output as _skiff_v1_PullRequest__Output,
} from "../../skiff/v1/PullRequest.js";
import type {
  PushRequest as _skiff_v1_PushRequest,
  PushRequest__Output as _skiff_v1_PushRequest__Output,
} from "../../skiff/v1/PushRequest.js";
import type {
  SaveRequest as _skiff_v1_SaveRequest,
  SaveRequest__Output as _skiff_v1_SaveRequest__Output,
} from "../../skiff/v1/SaveRequest.js";
import type {
  TagRequest as _skiff_v1_TagRequest,
  TagRequest__Output as _skiff_v1_TagRequest__Output,
} from "../../skiff/v1/TagRequest.js";
import type {
  TagResponse as _skiff_v1_TagResponse,
  TagResponse__Output as _skiff_v1_TagResponse__Output,
} from "../../skiff/v1/TagResponse.js";
import type {
  TransferProgress as _skiff_v1_TransferProgress,
  TransferProgress__Output as _skiff_v1_TransferProgress__Output,
} from "../../skiff/v1/TransferProgress.js";
import type {
  UntagRequest as _skiff_v1_UntagRequest,
  UntagRequest__Output as _skiff_v1_UntagRequest__Output,
} from "../../skiff/v1/UntagRequest.js";
import type {
  UntagResponse as _skiff_v1_UntagResponse,
  UntagResponse__Output as _skiff_v1_UntagResponse__Output,
} from "../../skiff/v1/UntagResponse.js";

export interface ImagesClient extends grpc.Client {
  Load(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  Load(
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  Load(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  Load(
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  load(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  load(
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  load(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;
  load(
    callback: grpc.requestCallback<_skiff_v1_LoadResponse__Output>,
  ): grpc.ClientWritableStream<_skiff_v1_ArchiveChunk>;

  Pull(
    argument: _skiff_v1_PullRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  Pull(
    argument: _skiff_v1_PullRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  pull(
    argument: _skiff_v1_PullRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  pull(
    argument: _skiff_v1_PullRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;

  Push(
    argument: _skiff_v1_PushRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  Push(
    argument: _skiff_v1_PushRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  push(
    argument: _skiff_v1_PushRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;
  push(
    argument: _skiff_v1_PushRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_TransferProgress__Output>;

  Save(
    argument: _skiff_v1_SaveRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ArchiveChunk__Output>;
  Save(
    argument: _skiff_v1_SaveRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ArchiveChunk__Output>;
  save(
    argument: _skiff_v1_SaveRequest,
    metadata: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ArchiveChunk__Output>;
  save(
    argument: _skiff_v1_SaveRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<_skiff_v1_ArchiveChunk__Output>;

  Tag(
    argument: _skiff_v1_TagRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Tag(
    argument: _skiff_v1_TagRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Tag(
    argument: _skiff_v1_TagRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Tag(
    argument: _skiff_v1_TagRequest,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  tag(
    argument: _skiff_v1_TagRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  tag(
    argument: _skiff_v1_TagRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  tag(
    argument: _skiff_v1_TagRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;
  tag(
    argument: _skiff_v1_TagRequest,
    callback: grpc.requestCallback<_skiff_v1_TagResponse__Output>,
  ): grpc.ClientUnaryCall;

  Untag(
    argument: _skiff_v1_UntagRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Untag(
    argument: _skiff_v1_UntagRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Untag(
    argument: _skiff_v1_UntagRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  Untag(
    argument: _skiff_v1_UntagRequest,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  untag(
    argument: _skiff_v1_UntagRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  untag(
    argument: _skiff_v1_UntagRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  untag(
    argument: _skiff_v1_UntagRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
  untag(
    argument: _skiff_v1_UntagRequest,
    callback: grpc.requestCallback<_skiff_v1_UntagResponse__Output>,
  ): grpc.ClientUnaryCall;
}

export interface ImagesHandlers extends grpc.UntypedServiceImplementation {
  Load: grpc.handleClientStreamingCall<_skiff_v1_ArchiveChunk__Output, _skiff_v1_LoadResponse>;

  Pull: grpc.handleServerStreamingCall<_skiff_v1_PullRequest__Output, _skiff_v1_TransferProgress>;

  Push: grpc.handleServerStreamingCall<_skiff_v1_PushRequest__Output, _skiff_v1_TransferProgress>;

  Save: grpc.handleServerStreamingCall<_skiff_v1_SaveRequest__Output, _skiff_v1_ArchiveChunk>;

  Tag: grpc.handleUnaryCall<_skiff_v1_TagRequest__Output, _skiff_v1_TagResponse>;

  Untag: grpc.handleUnaryCall<_skiff_v1_UntagRequest__Output, _skiff_v1_UntagResponse>;
}

export interface ImagesDefinition extends grpc.ServiceDefinition {
  Load: MethodDefinition<
    _skiff_v1_ArchiveChunk,
    _skiff_v1_LoadResponse,
    _skiff_v1_ArchiveChunk__Output,
    _skiff_v1_LoadResponse__Output
  >;
  Pull: MethodDefinition<
    _skiff_v1_PullRequest,
    _skiff_v1_TransferProgress,
    _skiff_v1_PullRequest__Output,
    _skiff_v1_TransferProgress__Output
  >;
  Push: MethodDefinition<
    _skiff_v1_PushRequest,
    _skiff_v1_TransferProgress,
    _skiff_v1_PushRequest__Output,
    _skiff_v1_TransferProgress__Output
  >;
  Save: MethodDefinition<
    _skiff_v1_SaveRequest,
    _skiff_v1_ArchiveChunk,
    _skiff_v1_SaveRequest__Output,
    _skiff_v1_ArchiveChunk__Output
  >;
  Tag: MethodDefinition<
    _skiff_v1_TagRequest,
    _skiff_v1_TagResponse,
    _skiff_v1_TagRequest__Output,
    _skiff_v1_TagResponse__Output
  >;
  Untag: MethodDefinition<
    _skiff_v1_UntagRequest,
    _skiff_v1_UntagResponse,
    _skiff_v1_UntagRequest__Output,
    _skiff_v1_UntagResponse__Output
  >;
}
