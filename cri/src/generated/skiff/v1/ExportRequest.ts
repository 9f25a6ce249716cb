// Original file: proto/skiff/v1/containers.proto

export interface ExportRequest {
  container_id?: string;
}

export interface ExportRequest__Output {
  container_id: string;
}
