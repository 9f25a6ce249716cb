// Original file: proto/skiff/v1/containers.proto

export interface ImportChunk {
  reference?: string;
  changes?: string[];
  data?: Buffer | Uint8Array | string;
}

export interface ImportChunk__Output {
  reference: string;
  changes: string[];
  data: Buffer;
}
