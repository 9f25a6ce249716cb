import type * as grpc from "@grpc/grpc-js";
import type { MessageTypeDefinition } from "@grpc/proto-loader";

import type {
  Event as _skiff_v1_Event,
  Event__Output as _skiff_v1_Event__Output,
} from "./skiff/v1/Event.js";
import type {
  EventsClient as _skiff_v1_EventsClient,
  EventsDefinition as _skiff_v1_EventsDefinition,
} from "./skiff/v1/Events.js";
import type {
  SubscribeRequest as _skiff_v1_SubscribeRequest,
  SubscribeRequest__Output as _skiff_v1_SubscribeRequest__Output,
} from "./skiff/v1/SubscribeRequest.js";

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new (...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  skiff: {
    v1: {
      Event: MessageTypeDefinition<_skiff_v1_Event, _skiff_v1_Event__Output>;
      Events: SubtypeConstructor<typeof grpc.Client, _skiff_v1_EventsClient> & {
        service: _skiff_v1_EventsDefinition;
      };
      SubscribeRequest: MessageTypeDefinition<
        _skiff_v1_SubscribeRequest,
        _skiff_v1_SubscribeRequest__Output
      >;
    };
  };
}
