// Original file: proto/skiff/v1/events.proto

export interface SubscribeRequest {
  types?: string[];
}

export interface SubscribeRequest__Output {
  types: string[];
}
