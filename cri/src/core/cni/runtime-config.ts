/**
 * What a runtime passes to plugins per attachment besides the network config: CNI_ARGS
 * (the Kubernetes pod identity, with IgnoreUnknown=1 so plugins that know none of it do
 * not fail) and `runtimeConfig`, which holds only the capabilities a plugin declares in
 * its `capabilities` map (CONVENTIONS.md: portMappings, bandwidth, ips, dns, ipRanges,
 * mac, cgroupPath, aliases, ...).
 */
import type { PluginConf } from "./config.js";

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** Host address to listen on; empty or absent: every address. */
  hostIP?: string;
}

/** Rates in bits per second, bursts in bits (the bandwidth plugin's units). */
export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface IpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** The capability arguments of one attachment. Absent fields are not passed. */
export interface CapabilityArgs {
  portMappings?: PortMapping[];
  bandwidth?: Bandwidth;
  /** Requested addresses (CIDR or plain) for IPAM plugins that honour them. */
  ips?: string[];
  dns?: DnsConfig;
  /** host-local's range sets; filled from the pod CIDR when not given. */
  ipRanges?: IpRange[][];
  mac?: string;
  cgroupPath?: string;
  /** Any other capability, by its convention name. */
  [capability: string]: unknown;
}

export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
  /** The sandbox id (K8S_POD_INFRA_CONTAINER_ID). */
  infraContainerId: string;
}

export function cniArgs(pod: PodIdentity | undefined): [string, string][] {
  const args: [string, string][] = [["IgnoreUnknown", "1"]];
  if (pod !== undefined) {
    args.push(
      ["K8S_POD_NAMESPACE", pod.namespace],
      ["K8S_POD_NAME", pod.name],
      ["K8S_POD_INFRA_CONTAINER_ID", pod.infraContainerId],
      ["K8S_POD_UID", pod.uid],
    );
  }
  return args;
}

/** The `runtimeConfig` for `plugin`: the args it has a capability for, or undefined. */
export function runtimeConfigFor(
  plugin: PluginConf,
  args: CapabilityArgs,
): Record<string, unknown> | undefined {
  const caps = plugin.capabilities ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    if (value !== undefined && caps[name] === true) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** CNI_ARGS values may not hold `;` or `=`; pod names and uids never do. */
export function validArgValue(v: string): boolean {
  return !/[;=\0]/.test(v);
}
