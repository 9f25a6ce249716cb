/**
 * Pod and container metrics for kubelet's CRI metrics path (ListMetricDescriptors,
 * ListPodSandboxMetrics): the cAdvisor names kubelet serves on /metrics/cadvisor, read
 * from each container's cgroup, its processes in /proc, its writable layer, and the pod's
 * network namespace. Each metric is emitted for every running container (or, for the
 * network, every pod interface but loopback), so a descriptor always has samples; the
 * block I/O ones have samples only where the kernel accounts I/O per device.
 *
 * Values are unsigned integers (the CRI's UInt64Value): "_seconds" counters are whole
 * seconds, as CRI-O reports them.
 */
import { statfsSync } from "node:fs";
import type { BlkioDeviceStats, CgroupStats } from "../../core/cgroups/stats.js";
import type { InterfaceCounters, ProcessCounts } from "../../core/host/procfs.js";
import type { ContainerRecord, ContainerService } from "../container/container-service.js";
import type { SandboxService, SandboxView } from "../sandbox/sandbox-service.js";
import { podInterfaces } from "./pod-usage.js";

export type MetricKind = "COUNTER" | "GAUGE";

export interface MetricDescriptor {
  name: string;
  help: string;
  labelKeys: string[];
}

export interface MetricSample {
  name: string;
  kind: MetricKind;
  labelValues: string[];
  value: number;
}

export interface PodMetrics {
  podSandboxId: string;
  timestampNs: bigint;
  metrics: MetricSample[];
  containers: { containerId: string; metrics: MetricSample[] }[];
}

/** What one running container is measured by. */
export interface ContainerSample {
  record: ContainerRecord;
  cgroup: CgroupStats | undefined;
  processes: ProcessCounts;
  writable: { bytes: number; inodes: number };
  fs: { device: string; capacityBytes: number; inodesTotal: number; inodesFree: number };
  nowS: number;
}

/** Every metric has these first: the container's id, its name, its image. */
const base = ["id", "name", "image"];

interface ContainerDef {
  name: string;
  help: string;
  kind: MetricKind;
  labels?: string[];
  /** One value per label set (extra label values after the base ones). */
  values(s: ContainerSample): [string[], number][] | number | undefined;
}

/** A per-device block I/O counter, labelled "major:minor". */
const blkioDef = (
  name: string,
  help: string,
  pick: (d: BlkioDeviceStats) => number,
): ContainerDef => ({
  name,
  help,
  kind: "COUNTER",
  labels: ["device"],
  values: (s) =>
    (s.cgroup?.blkio ?? []).map((d): [string[], number] => [[`${d.major}:${d.minor}`], pick(d)]),
});

const seconds = (ns: number | undefined) => (ns === undefined ? undefined : Math.floor(ns / 1e9));
const resources = (s: ContainerSample) => s.record.config.linux?.resources ?? null;
const num = (v: string | number | undefined | null) => Number(v ?? 0);

const containerDefs: ContainerDef[] = [
  {
    name: "container_blkio_device_usage_total",
    help: "Blkio device bytes usage",
    kind: "COUNTER",
    labels: ["device", "major", "minor", "operation"],
    values: (s) =>
      (s.cgroup?.blkio ?? []).flatMap((d): [string[], number][] => {
        const dev = [`${d.major}:${d.minor}`, String(d.major), String(d.minor)];
        return [
          [[...dev, "Read"], d.readBytes],
          [[...dev, "Write"], d.writeBytes],
        ];
      }),
  },
  {
    name: "container_cpu_cfs_periods_total",
    help: "Number of elapsed enforcement period intervals.",
    kind: "COUNTER",
    values: (s) => s.cgroup?.cpu?.periods,
  },
  {
    name: "container_cpu_cfs_throttled_periods_total",
    help: "Number of throttled period intervals.",
    kind: "COUNTER",
    values: (s) => s.cgroup?.cpu?.throttledPeriods,
  },
  {
    name: "container_cpu_cfs_throttled_seconds_total",
    help: "Total time duration the container has been throttled.",
    kind: "COUNTER",
    values: (s) => seconds(s.cgroup?.cpu?.throttledNanos),
  },
  {
    name: "container_cpu_system_seconds_total",
    help: "Cumulative system cpu time consumed in seconds.",
    kind: "COUNTER",
    values: (s) => seconds(s.cgroup?.cpu?.systemNanos),
  },
  {
    name: "container_cpu_usage_seconds_total",
    help: "Cumulative cpu time consumed in seconds.",
    kind: "COUNTER",
    labels: ["cpu"],
    values: (s) => (s.cgroup?.cpu ? [[["total"], seconds(s.cgroup.cpu.usageNanos) ?? 0]] : []),
  },
  {
    name: "container_cpu_user_seconds_total",
    help: "Cumulative user cpu time consumed in seconds.",
    kind: "COUNTER",
    values: (s) => seconds(s.cgroup?.cpu?.userNanos),
  },
  {
    name: "container_file_descriptors",
    help: "Number of open file descriptors for the container.",
    kind: "GAUGE",
    values: (s) => s.processes.fileDescriptors,
  },
  {
    name: "container_fs_inodes_free",
    help: "Number of available Inodes",
    kind: "GAUGE",
    labels: ["device"],
    values: (s) => [[[s.fs.device], s.fs.inodesFree]],
  },
  {
    name: "container_fs_inodes_total",
    help: "Number of Inodes",
    kind: "GAUGE",
    labels: ["device"],
    values: (s) => [[[s.fs.device], s.fs.inodesTotal]],
  },
  {
    name: "container_fs_limit_bytes",
    help: "Number of bytes that can be consumed by the container on this filesystem.",
    kind: "GAUGE",
    labels: ["device"],
    values: (s) => [[[s.fs.device], s.fs.capacityBytes]],
  },
  blkioDef("container_fs_reads_bytes_total", "Cumulative count of bytes read", (d) => d.readBytes),
  blkioDef("container_fs_reads_total", "Cumulative count of reads completed", (d) => d.reads),
  {
    name: "container_fs_usage_bytes",
    help: "Number of bytes that are consumed by the container on this filesystem.",
    kind: "GAUGE",
    labels: ["device"],
    values: (s) => [[[s.fs.device], s.writable.bytes]],
  },
  blkioDef(
    "container_fs_writes_bytes_total",
    "Cumulative count of bytes written",
    (d) => d.writeBytes,
  ),
  blkioDef("container_fs_writes_total", "Cumulative count of writes completed", (d) => d.writes),
  {
    name: "container_last_seen",
    help: "Last time a container was seen by the exporter",
    kind: "GAUGE",
    values: (s) => s.nowS,
  },
  {
    name: "container_memory_cache",
    help: "Number of bytes of page cache memory.",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.cacheBytes,
  },
  {
    name: "container_memory_failcnt",
    help: "Number of memory usage hits limits",
    kind: "COUNTER",
    values: (s) => s.cgroup?.memory?.failcnt,
  },
  {
    name: "container_memory_failures_total",
    help: "Cumulative count of memory allocation failures.",
    kind: "COUNTER",
    labels: ["failure_type", "scope"],
    values: (s) => {
      const m = s.cgroup?.memory;
      if (!m) return [];
      return [
        [["pgfault", "container"], m.pageFaults],
        [["pgmajfault", "container"], m.majorPageFaults],
      ];
    },
  },
  {
    name: "container_memory_kernel_usage",
    help: "Size of kernel memory allocated in bytes.",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.kernelBytes,
  },
  {
    name: "container_memory_mapped_file",
    help: "Size of memory mapped files in bytes.",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.mappedFileBytes,
  },
  {
    name: "container_memory_max_usage_bytes",
    help: "Maximum memory usage recorded in bytes",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.maxUsageBytes,
  },
  {
    name: "container_memory_rss",
    help: "Size of RSS in bytes.",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.rssBytes,
  },
  {
    name: "container_memory_swap",
    help: "Container swap usage in bytes.",
    kind: "GAUGE",
    values: (s) => (s.cgroup?.memory ? (s.cgroup.memory.swapBytes ?? 0) : undefined),
  },
  {
    name: "container_memory_usage_bytes",
    help: "Current memory usage in bytes, including all memory regardless of when it was accessed",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.usageBytes,
  },
  {
    name: "container_memory_working_set_bytes",
    help: "Current working set in bytes.",
    kind: "GAUGE",
    values: (s) => s.cgroup?.memory?.workingSetBytes,
  },
  {
    name: "container_oom_events_total",
    help: "Count of out of memory events observed for the container",
    kind: "COUNTER",
    values: (s) => (s.cgroup?.memory ? s.cgroup.memory.oomKills : undefined),
  },
  {
    name: "container_processes",
    help: "Number of processes running inside the container.",
    kind: "GAUGE",
    values: (s) => s.processes.processes,
  },
  {
    name: "container_sockets",
    help: "Number of open sockets for the container.",
    kind: "GAUGE",
    values: (s) => s.processes.sockets,
  },
  {
    name: "container_spec_cpu_period",
    help: "CPU period of the container.",
    kind: "GAUGE",
    values: (s) => num(resources(s)?.cpu_period),
  },
  {
    name: "container_spec_cpu_shares",
    help: "CPU share of the container.",
    kind: "GAUGE",
    values: (s) => num(resources(s)?.cpu_shares),
  },
  {
    name: "container_spec_memory_limit_bytes",
    help: "Memory limit for the container.",
    kind: "GAUGE",
    values: (s) => num(resources(s)?.memory_limit_in_bytes),
  },
  {
    name: "container_spec_memory_swap_limit_bytes",
    help: "Memory swap limit for the container.",
    kind: "GAUGE",
    values: (s) => num(resources(s)?.memory_swap_limit_in_bytes),
  },
  {
    name: "container_start_time_seconds",
    help: "Start time of the container since unix epoch in seconds.",
    kind: "GAUGE",
    values: (s) => Number(s.record.startedNs / 1_000_000_000n),
  },
  {
    name: "container_threads",
    help: "Number of threads running inside the container",
    kind: "GAUGE",
    values: (s) => s.processes.threads,
  },
  {
    name: "container_threads_max",
    help: "Maximum number of threads allowed inside the container, infinity if value is zero",
    kind: "GAUGE",
    values: (s) => (s.cgroup?.pids ? (s.cgroup.pids.limit ?? 0) : undefined),
  },
];

interface NetworkDef {
  name: string;
  help: string;
  pick(i: InterfaceCounters): number;
}

type Pick = (i: InterfaceCounters) => number;
const network = (suffix: string, what: string, pick: Pick): NetworkDef => ({
  name: `container_network_${suffix}`,
  help: `Cumulative count of ${what}`,
  pick,
});

const networkDefs: NetworkDef[] = [
  network("receive_bytes_total", "bytes received", (i) => i.rxBytes),
  network("receive_errors_total", "errors encountered while receiving", (i) => i.rxErrors),
  network("receive_packets_dropped_total", "packets dropped while receiving", (i) => i.rxDropped),
  network("receive_packets_total", "packets received", (i) => i.rxPackets),
  network("transmit_bytes_total", "bytes transmitted", (i) => i.txBytes),
  network("transmit_errors_total", "errors encountered while transmitting", (i) => i.txErrors),
  network(
    "transmit_packets_dropped_total",
    "packets dropped while transmitting",
    (i) => i.txDropped,
  ),
  network("transmit_packets_total", "packets transmitted", (i) => i.txPackets),
];

/**
 * Code-unit order (the names are ASCII), as Array.prototype.sort has it: localeCompare
 * would bring in ICU's collator, about 3 MiB of resident memory, at start-up.
 */
const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export const metricDescriptors: MetricDescriptor[] = [
  ...containerDefs.map((d) => ({
    name: d.name,
    help: d.help,
    labelKeys: [...base, ...(d.labels ?? [])],
  })),
  ...networkDefs.map((d) => ({ name: d.name, help: d.help, labelKeys: [...base, "interface"] })),
].sort(byName);

/** The metrics of one container from its sample. */
export function containerMetrics(s: ContainerSample): MetricSample[] {
  const labels = [s.record.id, s.record.name, s.record.imageRef];
  const out: MetricSample[] = [];
  for (const def of containerDefs) {
    const v = def.values(s);
    if (v === undefined) continue;
    const sets: [string[], number][] = typeof v === "number" ? [[[], v]] : v;
    for (const [extra, value] of sets) {
      out.push({ name: def.name, kind: def.kind, labelValues: [...labels, ...extra], value });
    }
  }
  return out;
}

/** The pod-level metrics: its network interfaces, labelled with the pod's id and name. */
export function podNetworkMetrics(
  pod: SandboxView,
  interfaces: InterfaceCounters[],
): MetricSample[] {
  const labels = [pod.record.id, pod.record.config.metadata?.name ?? "", ""];
  return interfaces.flatMap((i) =>
    networkDefs.map((def) => ({
      name: def.name,
      kind: "COUNTER" as const,
      labelValues: [...labels, i.name],
      value: def.pick(i),
    })),
  );
}

/** Samples every ready pod and its running containers. */
export async function collectPodMetrics(
  sandboxes: SandboxService,
  containers: ContainerService,
  fsPath: string,
): Promise<PodMetrics[]> {
  const fs = filesystemOf(fsPath);
  const byPod = new Map<string, ContainerRecord[]>();
  for (const c of containers.list()) {
    if (c.state !== "running") continue;
    byPod.set(c.sandboxId, [...(byPod.get(c.sandboxId) ?? []), c]);
  }
  const out: PodMetrics[] = [];
  for (const pod of await sandboxes.list()) {
    if (!pod.ready) continue;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const metrics = podNetworkMetrics(pod, podInterfaces(pod));
    const perContainer: PodMetrics["containers"] = [];
    for (const record of byPod.get(pod.record.id) ?? []) {
      try {
        const { stats, writableBytes, writableInodes } = await containers.stats(record.id);
        const sample: ContainerSample = {
          record,
          cgroup: stats,
          processes: await containers.processCounts(record.id),
          writable: { bytes: writableBytes, inodes: writableInodes },
          fs,
          nowS: Math.floor(Date.now() / 1000),
        };
        perContainer.push({ containerId: record.id, metrics: containerMetrics(sample) });
      } catch {
        // removed meanwhile
      }
    }
    out.push({
      podSandboxId: pod.record.id,
      timestampNs: nowNs,
      metrics,
      containers: perContainer,
    });
  }
  return out;
}

function filesystemOf(path: string): ContainerSample["fs"] {
  try {
    const s = statfsSync(path);
    return {
      device: path,
      capacityBytes: s.blocks * s.bsize,
      inodesTotal: s.files,
      inodesFree: s.ffree,
    };
  } catch {
    return { device: path, capacityBytes: 0, inodesTotal: 0, inodesFree: 0 };
  }
}
