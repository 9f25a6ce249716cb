// Original file: proto/skiff/v1/builds.proto

export interface BuildEvent {
  step?: string;
  log?: Buffer | Uint8Array | string;
  done?: boolean;
  image_id?: string;
  error?: string;
}

export interface BuildEvent__Output {
  step: string;
  log: Buffer;
  done: boolean;
  image_id: string;
  error: string;
}
