// Original file: proto/skiff/v1/config.proto

export interface GetConfigRequest {}

export interface GetConfigRequest__Output {}
