// Original file: proto/skiff/v1/containers.proto

export interface CommitRequest {
  container_id?: string;
  reference?: string;
  message?: string;
  changes?: string[];
  pause?: boolean;
}

export interface CommitRequest__Output {
  container_id: string;
  reference: string;
  message: string;
  changes: string[];
  pause: boolean;
}
