// Original file: proto/skiff/v1/images.proto

export interface TagResponse {}

export interface TagResponse__Output {}
