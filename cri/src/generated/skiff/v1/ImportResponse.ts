// Original file: proto/skiff/v1/containers.proto

export interface ImportResponse {
  image_id?: string;
}

export interface ImportResponse__Output {
  image_id: string;
}
