import type * as grpc from "@grpc/grpc-js";
import type { MessageTypeDefinition } from "@grpc/proto-loader";

import type {
  CommitRequest as _skiff_v1_CommitRequest,
  CommitRequest__Output as _skiff_v1_CommitRequest__Output,
} from "./skiff/v1/CommitRequest.js";
import type {
  CommitResponse as _skiff_v1_CommitResponse,
  CommitResponse__Output as _skiff_v1_CommitResponse__Output,
} from "./skiff/v1/CommitResponse.js";
import type {
  ContainersClient as _skiff_v1_ContainersClient,
  ContainersDefinition as _skiff_v1_ContainersDefinition,
} from "./skiff/v1/Containers.js";
import type {
  ExportChunk as _skiff_v1_ExportChunk,
  ExportChunk__Output as _skiff_v1_ExportChunk__Output,
} from "./skiff/v1/ExportChunk.js";
import type {
  ExportRequest as _skiff_v1_ExportRequest,
  ExportRequest__Output as _skiff_v1_ExportRequest__Output,
} from "./skiff/v1/ExportRequest.js";
import type {
  ImportChunk as _skiff_v1_ImportChunk,
  ImportChunk__Output as _skiff_v1_ImportChunk__Output,
} from "./skiff/v1/ImportChunk.js";
import type {
  ImportResponse as _skiff_v1_ImportResponse,
  ImportResponse__Output as _skiff_v1_ImportResponse__Output,
} from "./skiff/v1/ImportResponse.js";

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new (...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  skiff: {
    v1: {
      CommitRequest: MessageTypeDefinition<
        _skiff_v1_CommitRequest,
        _skiff_v1_CommitRequest__Output
      >;
      CommitResponse: MessageTypeDefinition<
        _skiff_v1_CommitResponse,
        _skiff_v1_CommitResponse__Output
      >;
      Containers: SubtypeConstructor<typeof grpc.Client, _skiff_v1_ContainersClient> & {
        service: _skiff_v1_ContainersDefinition;
      };
      ExportChunk: MessageTypeDefinition<_skiff_v1_ExportChunk, _skiff_v1_ExportChunk__Output>;
      ExportRequest: MessageTypeDefinition<
        _skiff_v1_ExportRequest,
        _skiff_v1_ExportRequest__Output
      >;
      ImportChunk: MessageTypeDefinition<_skiff_v1_ImportChunk, _skiff_v1_ImportChunk__Output>;
      ImportResponse: MessageTypeDefinition<
        _skiff_v1_ImportResponse,
        _skiff_v1_ImportResponse__Output
      >;
    };
  };
}
