// Original file: proto/skiff/v1/config.proto

import type * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type {
  GetConfigRequest as _skiff_v1_GetConfigRequest,
  GetConfigRequest__Output as _skiff_v1_GetConfigRequest__Output,
} from "../../skiff/v1/GetConfigRequest.js";
import type {
  GetConfigResponse as _skiff_v1_GetConfigResponse,
  GetConfigResponse__Output as _skiff_v1_GetConfigResponse__Output,
} from "../../skiff/v1/GetConfigResponse.js";
import type {
  ReloadConfigRequest as _skiff_v1_ReloadConfigRequest,
  ReloadConfigRequest__Output as _skiff_v1_ReloadConfigRequest__Output,
} from "../../skiff/v1/ReloadConfigRequest.js";
import type {
  ReloadConfigResponse as _skiff_v1_ReloadConfigResponse,
  ReloadConfigResponse__Output as _skiff_v1_ReloadConfigResponse__Output,
} from "../../skiff/v1/ReloadConfigResponse.js";

export interface ConfigClient extends grpc.Client {
  Get(
    argument: _skiff_v1_GetConfigRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Get(
    argument: _skiff_v1_GetConfigRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Get(
    argument: _skiff_v1_GetConfigRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Get(
    argument: _skiff_v1_GetConfigRequest,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  get(
    argument: _skiff_v1_GetConfigRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  get(
    argument: _skiff_v1_GetConfigRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  get(
    argument: _skiff_v1_GetConfigRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  get(
    argument: _skiff_v1_GetConfigRequest,
    callback: grpc.requestCallback<_skiff_v1_GetConfigResponse__Output>,
  ): grpc.ClientUnaryCall;

  Reload(
    argument: _skiff_v1_ReloadConfigRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Reload(
    argument: _skiff_v1_ReloadConfigRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Reload(
    argument: _skiff_v1_ReloadConfigRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  Reload(
    argument: _skiff_v1_ReloadConfigRequest,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  reload(
    argument: _skiff_v1_ReloadConfigRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  reload(
    argument: _skiff_v1_ReloadConfigRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  reload(
    argument: _skiff_v1_ReloadConfigRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
  reload(
    argument: _skiff_v1_ReloadConfigRequest,
    callback: grpc.requestCallback<_skiff_v1_ReloadConfigResponse__Output>,
  ): grpc.ClientUnaryCall;
}

export interface ConfigHandlers extends grpc.UntypedServiceImplementation {
  Get: grpc.handleUnaryCall<_skiff_v1_GetConfigRequest__Output, _skiff_v1_GetConfigResponse>;

  Reload: grpc.handleUnaryCall<
    _skiff_v1_ReloadConfigRequest__Output,
    _skiff_v1_ReloadConfigResponse
  >;
}

export interface ConfigDefinition extends grpc.ServiceDefinition {
  Get: MethodDefinition<
    _skiff_v1_GetConfigRequest,
    _skiff_v1_GetConfigResponse,
    _skiff_v1_GetConfigRequest__Output,
    _skiff_v1_GetConfigResponse__Output
  >;
  Reload: MethodDefinition<
    _skiff_v1_ReloadConfigRequest,
    _skiff_v1_ReloadConfigResponse,
    _skiff_v1_ReloadConfigRequest__Output,
    _skiff_v1_ReloadConfigResponse__Output
  >;
}
