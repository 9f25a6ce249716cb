import type * as grpc from "@grpc/grpc-js";
import type { MessageTypeDefinition } from "@grpc/proto-loader";

import type {
  ConfigClient as _skiff_v1_ConfigClient,
  ConfigDefinition as _skiff_v1_ConfigDefinition,
} from "./skiff/v1/Config.js";
import type {
  GetConfigRequest as _skiff_v1_GetConfigRequest,
  GetConfigRequest__Output as _skiff_v1_GetConfigRequest__Output,
} from "./skiff/v1/GetConfigRequest.js";
import type {
  GetConfigResponse as _skiff_v1_GetConfigResponse,
  GetConfigResponse__Output as _skiff_v1_GetConfigResponse__Output,
} from "./skiff/v1/GetConfigResponse.js";
import type {
  ReloadConfigRequest as _skiff_v1_ReloadConfigRequest,
  ReloadConfigRequest__Output as _skiff_v1_ReloadConfigRequest__Output,
} from "./skiff/v1/ReloadConfigRequest.js";
import type {
  ReloadConfigResponse as _skiff_v1_ReloadConfigResponse,
  ReloadConfigResponse__Output as _skiff_v1_ReloadConfigResponse__Output,
} from "./skiff/v1/ReloadConfigResponse.js";

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new (...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  skiff: {
    v1: {
      Config: SubtypeConstructor<typeof grpc.Client, _skiff_v1_ConfigClient> & {
        service: _skiff_v1_ConfigDefinition;
      };
      GetConfigRequest: MessageTypeDefinition<
        _skiff_v1_GetConfigRequest,
        _skiff_v1_GetConfigRequest__Output
      >;
      GetConfigResponse: MessageTypeDefinition<
        _skiff_v1_GetConfigResponse,
        _skiff_v1_GetConfigResponse__Output
      >;
      ReloadConfigRequest: MessageTypeDefinition<
        _skiff_v1_ReloadConfigRequest,
        _skiff_v1_ReloadConfigRequest__Output
      >;
      ReloadConfigResponse: MessageTypeDefinition<
        _skiff_v1_ReloadConfigResponse,
        _skiff_v1_ReloadConfigResponse__Output
      >;
    };
  };
}
