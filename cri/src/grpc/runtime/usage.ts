/**
 * The CRI usage messages (CpuUsage, MemoryUsage, NetworkUsage, ProcessUsage) from what a
 * cgroup and /proc report: shared by ContainerStats and PodSandboxStats. A section the
 * source lacks stays absent (kubelet reads an absent message as "not reported", a zero
 * as a measured zero). Pure: no I/O.
 */
import type { CpuStats, MemoryStats } from "../../core/cgroups/stats.js";
import type { InterfaceCounters } from "../../core/host/procfs.js";
import type { CpuUsage } from "../../generated/runtime/v1/CpuUsage.js";
import type { MemoryUsage } from "../../generated/runtime/v1/MemoryUsage.js";
import type { NetworkInterfaceUsage } from "../../generated/runtime/v1/NetworkInterfaceUsage.js";
import type { NetworkUsage } from "../../generated/runtime/v1/NetworkUsage.js";
import type { ProcessUsage } from "../../generated/runtime/v1/ProcessUsage.js";
import type { UInt64Value } from "../../generated/runtime/v1/UInt64Value.js";

/**
 * A CRI UInt64Value: a whole, non-negative number as a decimal string (through BigInt,
 * so large counters never print as "1e+21"); null when unknown.
 */
export const u64 = (n: number | undefined): UInt64Value | null =>
  n === undefined || !Number.isFinite(n)
    ? null
    : { value: BigInt(Math.max(0, Math.round(n))).toString() };

/** Cumulative CPU time, and the rate since the previous sample (nano cores) when known. */
export function cpuUsage(cpu: CpuStats, timestampNs: bigint, nanoCores?: number): CpuUsage {
  return {
    timestamp: String(timestampNs),
    usage_core_nano_seconds: u64(cpu.usageNanos),
    usage_nano_cores: u64(nanoCores),
  };
}

/** Memory as kubelet reads it; available is limit - working set, absent when unlimited. */
export function memoryUsage(m: MemoryStats, timestampNs: bigint): MemoryUsage {
  return {
    timestamp: String(timestampNs),
    working_set_bytes: u64(m.workingSetBytes),
    available_bytes: m.limitBytes === undefined ? null : u64(m.limitBytes - m.workingSetBytes),
    usage_bytes: u64(m.usageBytes),
    rss_bytes: u64(m.rssBytes),
    page_faults: u64(m.pageFaults),
    major_page_faults: u64(m.majorPageFaults),
  };
}

/** The pod's default interface: the CNI one ("eth0", what kubelet asks CNI for), else the first. */
export const defaultInterfaceName = "eth0";

const interfaceUsage = (i: InterfaceCounters): NetworkInterfaceUsage => ({
  name: i.name,
  rx_bytes: u64(i.rxBytes),
  rx_errors: u64(i.rxErrors),
  tx_bytes: u64(i.txBytes),
  tx_errors: u64(i.txErrors),
});

/** Every interface of the namespace (loopback already left out), and the default one. */
export function networkUsage(interfaces: InterfaceCounters[], timestampNs: bigint): NetworkUsage {
  // code-unit order of the kernel's names (localeCompare would load ICU's collator, ~3 MiB)
  const sorted = [...interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const main = sorted.find((i) => i.name === defaultInterfaceName) ?? sorted[0];
  return {
    timestamp: String(timestampNs),
    default_interface: main ? interfaceUsage(main) : null,
    interfaces: sorted.map(interfaceUsage),
  };
}

export function processUsage(processCount: number, timestampNs: bigint): ProcessUsage {
  return { timestamp: String(timestampNs), process_count: u64(processCount) };
}
