// Original file: proto/skiff/v1/config.proto

export interface ReloadConfigRequest {}

export interface ReloadConfigRequest__Output {}
