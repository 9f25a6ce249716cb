/**
 * The runtime's readiness as the CRI Status RPC reports it: RuntimeReady and
 * NetworkReady conditions, and what each runtime handler supports. Features are
 * advertised only once they are implemented.
 */
import {
  criApiVersion,
  kubeletRuntimeApiVersion,
  runtimeName,
  skiffVersion,
} from "../../core/version.js";
import type { RuntimeCondition } from "../../generated/runtime/v1/RuntimeCondition.js";
import type { StatusResponse } from "../../generated/runtime/v1/StatusResponse.js";
import type { VersionResponse } from "../../generated/runtime/v1/VersionResponse.js";

export interface NetworkReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

export interface RuntimeStatusSources {
  network(): NetworkReadiness;
  /** Extra information for `crictl info` (verbose Status). */
  info(): Record<string, unknown>;
}

export function version(): VersionResponse {
  return {
    version: kubeletRuntimeApiVersion,
    runtime_name: runtimeName,
    runtime_version: skiffVersion,
    runtime_api_version: criApiVersion,
  };
}

export function runtimeStatus(sources: RuntimeStatusSources, verbose: boolean): StatusResponse {
  const network = sources.network();
  const conditions: RuntimeCondition[] = [
    { type: "RuntimeReady", status: true, reason: "", message: "" },
    {
      type: "NetworkReady",
      status: network.ready,
      reason: network.reason,
      message: network.message,
    },
  ];
  const info: Record<string, string> = {};
  if (verbose) {
    for (const [key, value] of Object.entries(sources.info())) info[key] = JSON.stringify(value);
  }
  return {
    status: { conditions },
    info,
    // Recursive read-only mounts are made with mount_setattr(AT_RECURSIVE) by skiff-shim;
    // user namespaces for pods are not implemented, so they are not advertised.
    runtime_handlers: [
      { name: "", features: { recursive_read_only_mounts: true, user_namespaces: false } },
    ],
    features: {
      // Strict leaves out the groups of the image's /etc/group (container-spec.ts).
      supplemental_groups_policy: true,
      user_namespaces_host_network: false,
      mount_options: false,
    },
  };
}
