/**
 * The OCI runtime spec's `linux.resources` (config.json), field for field: the names are
 * the JSON names of runtime-spec v1.2 so a parsed config.json can be passed as it is.
 * Semantics follow runc where the spec leaves a value open: a 0 or missing number leaves
 * the kernel's value alone, -1 means "unlimited" for memory, swap, quota and pids.
 */

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a" (all), "c" (char) or "b" (block); missing means "a". */
  type?: string;
  /** -1 or missing: any. */
  major?: number;
  minor?: number;
  /** Any of "r", "w", "m"; missing means "rwm". */
  access?: string;
}

export interface LinuxMemory {
  /** Bytes; -1 unlimited. */
  limit?: number;
  /** Soft limit in bytes (v1 memory.soft_limit_in_bytes, v2 memory.low). */
  reservation?: number;
  /** Memory + swap in bytes (as on v1); -1 unlimited. v2 writes swap - limit to memory.swap.max. */
  swap?: number;
  /** Deprecated by the spec and ignored by the kernel since 6.x; accepted and not applied. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  /** Relative weight, v1 cpu.shares (2..262144); v2 cpu.weight is derived from it. */
  shares?: number;
  /** Microseconds per period; -1 unlimited. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** A cpu list such as "0-3,7". */
  cpus?: string;
  mems?: string;
  /** 1 makes the group SCHED_IDLE. */
  idle?: number;
}

export interface LinuxPids {
  /** Maximum number of tasks; -1 (or any negative) unlimited, 0 leaves it alone. */
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  /** 10..1000. */
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** The kernel's size name: "64KB", "2MB", "1GB". */
  pageSize: string;
  /** Bytes. */
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 only: file name → value, written as they are after the typed fields. */
  unified?: Record<string, string>;
}

/** True when a number field asks for a change (the spec's "0 or missing: leave it"). */
export function isSet(value: number | undefined): value is number {
  return value !== undefined && value !== 0;
}

/**
 * The v1 controller names a resources object needs, in the order they are applied.
 * (v2 names differ only for block I/O: blkio → io.)
 */
export function requiredControllers(r: LinuxResources): string[] {
  const out: string[] = [];
  const cpu = r.cpu;
  if (
    cpu &&
    (isSet(cpu.shares) ||
      isSet(cpu.quota) ||
      isSet(cpu.period) ||
      isSet(cpu.burst) ||
      isSet(cpu.realtimeRuntime) ||
      isSet(cpu.realtimePeriod) ||
      cpu.idle !== undefined)
  ) {
    out.push("cpu");
  }
  if (cpu && (nonEmpty(cpu.cpus) || nonEmpty(cpu.mems))) out.push("cpuset");
  const m = r.memory;
  if (
    m &&
    (isSet(m.limit) ||
      isSet(m.reservation) ||
      isSet(m.swap) ||
      m.swappiness !== undefined ||
      m.disableOOMKiller !== undefined)
  ) {
    out.push("memory");
  }
  if (r.pids && isSet(r.pids.limit)) out.push("pids");
  if (r.hugepageLimits && r.hugepageLimits.length > 0) out.push("hugetlb");
  const b = r.blockIO;
  if (
    b &&
    (isSet(b.weight) ||
      isSet(b.leafWeight) ||
      (b.weightDevice?.length ?? 0) > 0 ||
      (b.throttleReadBpsDevice?.length ?? 0) > 0 ||
      (b.throttleWriteBpsDevice?.length ?? 0) > 0 ||
      (b.throttleReadIOPSDevice?.length ?? 0) > 0 ||
      (b.throttleWriteIOPSDevice?.length ?? 0) > 0)
  ) {
    out.push("blkio");
  }
  return out;
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s !== "";
}
