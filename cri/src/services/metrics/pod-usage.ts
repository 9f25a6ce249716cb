/**
 * A pod's own usage, for PodSandboxStats: the pod cgroup (CPU, memory and process count
 * of the whole pod: the infra process and every container) and the interface counters
 * of its network namespace, read through the infra process's /proc/<pid>/net/dev.
 * Whatever cannot be read is left out: a NOTREADY pod has no infra process, so no
 * network; a pod whose cgroup is gone has no cgroup section. A pod on the node's
 * network reports no interfaces (they are the node's, not the pod's), as containerd does.
 */
import type { CgroupStats } from "../../core/cgroups/stats.js";
import { interfaceCounters, type InterfaceCounters } from "../../core/host/procfs.js";
import type { SandboxService, SandboxView } from "../sandbox/sandbox-service.js";

export interface PodUsage {
  timestampNs: bigint;
  cgroup: CgroupStats | undefined;
  processCount: number | undefined;
  /** undefined: a host-network pod, or no infra process to read the namespace through. */
  interfaces: InterfaceCounters[] | undefined;
}

/** The interfaces of the pod's network namespace but loopback; [] without an infra process. */
export function podInterfaces(pod: SandboxView): InterfaceCounters[] {
  return pod.infraPid > 0 ? interfaceCounters(pod.infraPid) : [];
}

export async function podUsage(sandboxes: SandboxService, pod: SandboxView): Promise<PodUsage> {
  const timestampNs = BigInt(Date.now()) * 1_000_000n;
  const cgroup = await sandboxes.cgroupUsage(pod.record);
  const ownNetwork = !pod.namespaces.hostNetwork && pod.infraPid > 0;
  return {
    timestampNs,
    cgroup: cgroup?.stats,
    processCount: cgroup?.processCount,
    interfaces: ownNetwork ? podInterfaces(pod) : undefined,
  };
}
