// Original file: proto/skiff/v1/containers.proto

export interface CommitResponse {
  image_id?: string;
}

export interface CommitResponse__Output {
  image_id: string;
}
