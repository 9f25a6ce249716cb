// Original file: proto/skiff/v1/builds.proto

export interface BuildRequest {
  context_dir?: string;
  dockerfile?: string;
  build_args?: { [key: string]: string };
  target?: string;
  platforms?: string[];
  tags?: string[];
  push?: boolean;
  no_cache?: boolean;
}

export interface BuildRequest__Output {
  context_dir: string;
  dockerfile: string;
  build_args: { [key: string]: string };
  target: string;
  platforms: string[];
  tags: string[];
  push: boolean;
  no_cache: boolean;
}
