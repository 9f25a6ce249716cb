// Original file: proto/skiff/v1/images.proto

export interface UntagResponse {
  image_removed?: boolean;
}

export interface UntagResponse__Output {
  image_removed: boolean;
}
