// Original file: proto/skiff/v1/images.proto

export interface LoadResponse {
  images?: string[];
}

export interface LoadResponse__Output {
  images: string[];
}
