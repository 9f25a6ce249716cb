// Original file: proto/skiff/v1/images.proto

export interface UntagRequest {
  name?: string;
}

export interface UntagRequest__Output {
  name: string;
}
