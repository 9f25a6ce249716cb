/**
 * What a cgroup reports, the same shape for v1 and v2 (units: nanoseconds and bytes).
 * A section is present when its controller is. Numbers are JS numbers: counters above
 * 2^53 lose their lowest bits, never their magnitude.
 */

export interface CpuStats {
  /** Total CPU time consumed (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
  usageNanos: number;
  userNanos?: number;
  systemNanos?: number;
  /** CFS bandwidth: enforcement periods, periods throttled, time throttled. */
  periods?: number;
  throttledPeriods?: number;
  throttledNanos?: number;
}

export interface MemoryStats {
  usageBytes: number;
  /** usage - inactive_file (floored at 0): what the kernel cannot drop cheaply (kubelet's metric). */
  workingSetBytes: number;
  /** Anonymous and swap-cache memory (v1 total_rss, v2 anon). */
  rssBytes: number;
  /** Page cache (v1 total_cache, v2 file). */
  cacheBytes: number;
  swapBytes?: number;
  /** undefined when unlimited. */
  limitBytes?: number;
  pageFaults: number;
  majorPageFaults: number;
  /** Times usage hit the limit (v1 memory.failcnt + memory.memsw.failcnt, v2 memory.events max). */
  failcnt: number;
  /** Times the cgroup hit OOM (v2 memory.events oom; v1 has no counter: under_oom now). */
  oomEvents?: number;
  /** Processes killed by the OOM killer (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
  oomKills: number;
  /** v1 only: the cgroup is OOM with the killer disabled. */
  underOom?: boolean;
  /** Page cache mapped into processes (v1 total_mapped_file, v2 file_mapped). */
  mappedFileBytes?: number;
  /** Highest usage seen (v1 memory.max_usage_in_bytes, v2 memory.peak where it exists). */
  maxUsageBytes?: number;
  /** Kernel memory (v1 memory.kmem.usage_in_bytes where it exists, v2 memory.stat kernel). */
  kernelBytes?: number;
}

/** Block I/O of one device (v1 blkio.throttle.*_recursive, v2 io.stat). */
export interface BlkioDeviceStats {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

export interface PidsStats {
  current: number;
  /** undefined when unlimited. */
  limit?: number;
}

export interface HugetlbStats {
  usageBytes: number;
  maxUsageBytes?: number;
  /** v1 failcnt, v2 hugetlb.<size>.events max. */
  failcnt: number;
}

export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  pids?: PidsStats;
  /** One entry per device with I/O; empty when the kernel accounts none. */
  blkio?: BlkioDeviceStats[];
  /** page size ("2MB") → usage. */
  hugetlb?: Record<string, HugetlbStats>;
}
