/**
 * Skiff's configuration schema (DESIGN.md "Registry configuration"): the one schema
 * skiff-cri, the skiff CLI and the operator's node agent share. Pure data types.
 */

export type MirrorCapability = "pull" | "resolve" | "push";

export interface MirrorConfig {
  /** http:// or https:// base URL; http:// only when written so. */
  url: string;
  ca?: string;
  insecureSkipVerify: boolean;
  capabilities: MirrorCapability[];
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  identityToken?: string;
}

export interface RegistryConfig {
  /** Tried in order, then the upstream itself. */
  mirrors: MirrorConfig[];
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  /** Plain HTTP or unverified TLS for the upstream. */
  insecure: boolean;
  auth?: RegistryAuth;
  /** The file this registry's entry came from (the last one that defined it). */
  source: string;
}

export interface SkiffConfig {
  /** Keyed by host[:port] as written in image references. */
  registries: Record<string, RegistryConfig>;
  /** Every file read, in the order they were merged. */
  files: string[];
}

export const emptyConfig = (): SkiffConfig => ({ registries: {}, files: [] });
