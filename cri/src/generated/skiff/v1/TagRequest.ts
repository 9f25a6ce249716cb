// Original file: proto/skiff/v1/images.proto

export interface TagRequest {
  source?: string;
  target?: string;
}

export interface TagRequest__Output {
  source: string;
  target: string;
}
