import type * as grpc from "@grpc/grpc-js";
import type { MessageTypeDefinition } from "@grpc/proto-loader";

import type {
  BuildEvent as _skiff_v1_BuildEvent,
  BuildEvent__Output as _skiff_v1_BuildEvent__Output,
} from "./skiff/v1/BuildEvent.js";
import type {
  BuildRequest as _skiff_v1_BuildRequest,
  BuildRequest__Output as _skiff_v1_BuildRequest__Output,
} from "./skiff/v1/BuildRequest.js";
import type {
  BuildsClient as _skiff_v1_BuildsClient,
  BuildsDefinition as _skiff_v1_BuildsDefinition,
} from "./skiff/v1/Builds.js";

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new (...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  skiff: {
    v1: {
      BuildEvent: MessageTypeDefinition<_skiff_v1_BuildEvent, _skiff_v1_BuildEvent__Output>;
      BuildRequest: MessageTypeDefinition<_skiff_v1_BuildRequest, _skiff_v1_BuildRequest__Output>;
      Builds: SubtypeConstructor<typeof grpc.Client, _skiff_v1_BuildsClient> & {
        service: _skiff_v1_BuildsDefinition;
      };
    };
  };
}
