// Original file: proto/skiff/v1/images.proto

import type {
  AuthConfig as _runtime_v1_AuthConfig,
  AuthConfig__Output as _runtime_v1_AuthConfig__Output,
} from "../../runtime/v1/AuthConfig.js";

export interface PullRequest {
  image?: string;
  auth?: _runtime_v1_AuthConfig | null;
}

export interface PullRequest__Output {
  image: string;
  auth: _runtime_v1_AuthConfig__Output | null;
}
