// Original file: proto/skiff/v1/containers.proto

export interface ExportChunk {
  data?: Buffer | Uint8Array | string;
}

export interface ExportChunk__Output {
  data: Buffer;
}
