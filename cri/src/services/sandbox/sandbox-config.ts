/**
 * What a CRI PodSandboxConfig means for Skiff, checked before anything is made: the
 * name reservation key ("<name>_<namespace>_<uid>_<attempt>", as kubelet's retries
 * repeat it), the namespace modes (hostNetwork/hostIPC/hostPID, pid shared or not),
 * the hostname, the sysctls (only namespaced ones, and only for namespaces the pod
 * owns: no net.* on a host-network pod, no IPC sysctl on a host-IPC pod; values are one
 * setting, CVE-2022-0811), port mappings for the CNI portmap capability, and the pod
 * cgroup's resources (the pod's resources plus its overhead). Pure functions: no I/O.
 */
import { invalidArgument } from "../../core/errors.js";
import type { LinuxResources } from "../../core/cgroups/resources.js";
import type { PortMapping } from "../../core/cni/runtime-config.js";
import type { LinuxContainerResources__Output } from "../../generated/runtime/v1/LinuxContainerResources.js";
import type { PodSandboxConfig__Output } from "../../generated/runtime/v1/PodSandboxConfig.js";
import { containerResources } from "../container/container-spec.js";
import { checkHostname } from "./pod-files.js";

/** Runtime handlers RunPodSandbox accepts; "" is the default (kubelet sends it without a RuntimeClass). */
export const sandboxRuntimeHandlers: readonly string[] = [""];

export type NamespaceModeName = "POD" | "CONTAINER" | "NODE" | "TARGET";

export interface PodNamespaces {
  hostNetwork: boolean;
  hostIpc: boolean;
  hostPid: boolean;
  /** The containers join the infra process's pid namespace (namespace_options.pid == POD). */
  sharedPid: boolean;
  network: NamespaceModeName;
  pid: NamespaceModeName;
  ipc: NamespaceModeName;
}

const metadataPart = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const maxNameLength = 1024;

/** Checks the metadata and returns the name kubelet's retries reserve. */
export function reservationName(config: PodSandboxConfig__Output | null): string {
  const metadata = config?.metadata;
  if (!config || !metadata) throw invalidArgument("config.metadata is required");
  for (const [field, value] of [
    ["name", metadata.name],
    ["namespace", metadata.namespace],
    ["uid", metadata.uid],
  ] as const) {
    if (value === "") throw invalidArgument(`config.metadata.${field} is required`);
    if (!metadataPart.test(value) || value.includes("_")) {
      throw invalidArgument(
        `config.metadata.${field} ${JSON.stringify(value.slice(0, 80))} must be [A-Za-z0-9.-] (no "_"), at most 253 characters`,
      );
    }
  }
  const name = `${metadata.name}_${metadata.namespace}_${metadata.uid}_${metadata.attempt}`;
  if (name.length > maxNameLength)
    throw invalidArgument("config.metadata: the pod name is too long");
  return name;
}

function modeName(value: unknown): NamespaceModeName {
  switch (value) {
    case "POD":
    case 0:
      return "POD";
    case "NODE":
    case 2:
      return "NODE";
    case "TARGET":
    case 3:
      return "TARGET";
    default:
      return "CONTAINER";
  }
}

export function podNamespaces(config: PodSandboxConfig__Output): PodNamespaces {
  const options = config.linux?.security_context?.namespace_options ?? null;
  const network = modeName(options?.network ?? "POD");
  const pid = modeName(options?.pid ?? "CONTAINER");
  const ipc = modeName(options?.ipc ?? "POD");
  if (network === "TARGET" || ipc === "TARGET" || pid === "TARGET") {
    throw invalidArgument(
      "namespace_options: TARGET is only valid for a container's pid namespace",
    );
  }
  if (network === "CONTAINER" || ipc === "CONTAINER") {
    throw invalidArgument("namespace_options: network and ipc are POD or NODE for a sandbox");
  }
  if (options?.userns_options && modeName(options.userns_options.mode) === "POD") {
    throw invalidArgument(
      "namespace_options.userns_options: user namespaces are not supported by Skiff yet",
    );
  }
  return {
    hostNetwork: network === "NODE",
    hostIpc: ipc === "NODE",
    hostPid: pid === "NODE",
    sharedPid: pid === "POD",
    network,
    pid,
    ipc,
  };
}

/** The pod's hostname: the config's, else the node's for host-network pods, else the pod name. */
export function podHostname(config: PodSandboxConfig__Output, nodeHostname: string): string {
  const ns = podNamespaces(config);
  if (config.hostname !== "") {
    checkHostname(config.hostname);
    return config.hostname;
  }
  if (ns.hostNetwork) return nodeHostname;
  const fromName = (config.metadata?.name ?? "")
    .toLowerCase()
    .slice(0, 63)
    .replace(/[^a-z0-9-]/g, "-");
  const trimmed = fromName.replace(/^-+|-+$/g, "") || "pod";
  checkHostname(trimmed);
  return trimmed;
}

const ipcSysctls = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);
const sysctlKey = /^[a-z0-9_]+([./][a-z0-9_-]+)+$/i;

/** Validated sysctls, keys in dotted form. */
export function podSysctls(config: PodSandboxConfig__Output): Record<string, string> {
  const ns = podNamespaces(config);
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(config.linux?.sysctls ?? {})) {
    if (!sysctlKey.test(rawKey) || rawKey.length > 200) {
      throw invalidArgument(
        `linux.sysctls: ${JSON.stringify(rawKey.slice(0, 80))} is not a sysctl name`,
      );
    }
    // kubelet allows "/" as the separator (net/ipv4/ip_forward).
    const key = rawKey.includes("/")
      ? rawKey.replace(/[./]/g, (c) => (c === "/" ? "." : "/"))
      : rawKey;
    if (value === "" || hasControlOrSeparator(value) || value.length > 4096) {
      throw invalidArgument(`linux.sysctls: the value of ${key} must be one setting on one line`);
    }
    const ipc = ipcSysctls.has(key) || key.startsWith("fs.mqueue.");
    const net = key.startsWith("net.");
    if (!ipc && !net) {
      throw invalidArgument(`linux.sysctls: ${key} is not a namespaced sysctl a pod may set`);
    }
    if (net && ns.hostNetwork) {
      throw invalidArgument(
        `linux.sysctls: ${key} would change the node's network namespace (host-network pod)`,
      );
    }
    if (ipc && ns.hostIpc) {
      throw invalidArgument(
        `linux.sysctls: ${key} would change the node's IPC namespace (host-IPC pod)`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** Port mappings with a host port, for the CNI portmap capability. */
export function podPortMappings(config: PodSandboxConfig__Output): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const [i, m] of config.port_mappings.entries()) {
    const where = `port_mappings[${i}]`;
    if (!Number.isInteger(m.container_port) || m.container_port < 0 || m.container_port > 65535) {
      throw invalidArgument(`${where}.container_port ${m.container_port} is not a port`);
    }
    if (!Number.isInteger(m.host_port) || m.host_port < 0 || m.host_port > 65535) {
      throw invalidArgument(`${where}.host_port ${m.host_port} is not a port`);
    }
    if (m.host_ip !== "" && !/^[0-9a-fA-F.:]+$/.test(m.host_ip)) {
      throw invalidArgument(
        `${where}.host_ip ${JSON.stringify(m.host_ip.slice(0, 80))} is not an address`,
      );
    }
    if (m.host_port === 0) continue;
    if (m.container_port === 0)
      throw invalidArgument(`${where}.container_port is required with a host port`);
    const protocol = m.protocol === "UDP" ? "udp" : m.protocol === "SCTP" ? "sctp" : "tcp";
    mappings.push({
      hostPort: m.host_port,
      containerPort: m.container_port,
      protocol,
      ...(m.host_ip !== "" ? { hostIP: m.host_ip } : {}),
    });
  }
  return mappings;
}

const cgroupParentPattern = /^\/?[A-Za-z0-9_.:@-]+(\/[A-Za-z0-9_.:@-]+)*\/?$/;

/** The pod's cgroup: kubelet's cgroup_parent (cgroupfs driver), else skiff/pods/<id>. */
export function podCgroup(config: PodSandboxConfig__Output, id: string): string {
  const parent = config.linux?.cgroup_parent ?? "";
  if (parent === "") return `skiff/pods/${id}`;
  if (parent.endsWith(".slice")) {
    throw invalidArgument(
      `linux.cgroup_parent ${JSON.stringify(parent)} is a systemd slice; Skiff uses the cgroupfs driver`,
    );
  }
  if (!cgroupParentPattern.test(parent) || parent.split("/").some((p) => p === "." || p === "..")) {
    throw invalidArgument(
      `linux.cgroup_parent ${JSON.stringify(parent.slice(0, 120))} is not a cgroup path`,
    );
  }
  return parent.replace(/^\/+|\/+$/g, "");
}

/**
 * The pod cgroup's limits: the pod's resources plus its overhead (kubelet sizes the pod
 * cgroup the same way). Absent values stay unlimited.
 */
export function podResources(
  resources: LinuxContainerResources__Output | null,
  overhead: LinuxContainerResources__Output | null,
): LinuxResources {
  const r = containerResources(resources);
  const o = containerResources(overhead);
  if (!resources) return o;
  if (!overhead) return r;
  const out: LinuxResources = { ...r };
  const add = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined ? undefined : a + (b ?? 0);
  if (r.memory?.limit !== undefined)
    out.memory = { limit: add(r.memory.limit, o.memory?.limit) as number };
  if (r.cpu) {
    out.cpu = { ...r.cpu };
    const shares = add(r.cpu.shares, o.cpu?.shares);
    if (shares !== undefined) out.cpu.shares = shares;
    if (
      r.cpu.quota !== undefined &&
      r.cpu.quota > 0 &&
      o.cpu?.quota !== undefined &&
      o.cpu.quota > 0
    ) {
      out.cpu.quota = r.cpu.quota + o.cpu.quota;
    }
  }
  return out;
}

/** A control character (tab aside), "=" or "+": a value that could set a second sysctl. */
function hasControlOrSeparator(value: string): boolean {
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || ch === "=" || ch === "+") return true;
  }
  return false;
}
