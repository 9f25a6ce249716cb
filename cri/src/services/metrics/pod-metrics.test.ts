import { describe, expect, test } from "@jest/globals";
import type { ContainerRecord } from "../container/container-service.js";
import { containerMetrics, metricDescriptors, type ContainerSample } from "./pod-metrics.js";

const record = {
  id: "c1",
  name: "web",
  imageRef: "sha256:abc",
  startedNs: 1_700_000_000_123_456_789n,
  config: { linux: { resources: { cpu_period: "100000", memory_limit_in_bytes: "67108864" } } },
} as unknown as ContainerRecord;

const sample = (over: Partial<ContainerSample> = {}): ContainerSample => ({
  record,
  cgroup: {
    cpu: { usageNanos: 3_500_000_000, userNanos: 2e9, systemNanos: 1e9, periods: 4 },
    memory: {
      usageBytes: 1000,
      workingSetBytes: 800,
      rssBytes: 600,
      cacheBytes: 200,
      pageFaults: 7,
      majorPageFaults: 1,
      failcnt: 0,
      oomKills: 2,
      maxUsageBytes: 1200,
      mappedFileBytes: 10,
      kernelBytes: 50,
    },
    pids: { current: 2, limit: 100 },
    blkio: [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 0, reads: 1, writes: 0 }],
  },
  processes: { processes: 2, threads: 3, fileDescriptors: 9, sockets: 1 },
  writable: { bytes: 4096, inodes: 3 },
  fs: { device: "/var/lib/skiff/snapshots", capacityBytes: 1e9, inodesTotal: 100, inodesFree: 40 },
  nowS: 1_800_000_000,
  ...over,
});

const value = (name: string, s = sample()) =>
  containerMetrics(s)
    .filter((m) => m.name === name)
    .map((m) => [m.labelValues.slice(3), m.value]);

describe("container metrics", () => {
  test("every sample has its descriptor's label count, id/name/image first", () => {
    const keys = new Map(metricDescriptors.map((d) => [d.name, d.labelKeys.length]));
    for (const m of containerMetrics(sample())) {
      expect([m.name, m.labelValues.length]).toEqual([m.name, keys.get(m.name)]);
      expect(m.labelValues.slice(0, 3)).toEqual(["c1", "web", "sha256:abc"]);
    }
    for (const d of metricDescriptors) expect(d.help).not.toBe("");
  });

  test("figures come from the cgroup, the processes, the writable layer and the config", () => {
    expect(value("container_cpu_usage_seconds_total")).toEqual([[["total"], 3]]);
    expect(value("container_memory_working_set_bytes")).toEqual([[[], 800]]);
    expect(value("container_memory_failures_total")).toEqual([
      [["pgfault", "container"], 7],
      [["pgmajfault", "container"], 1],
    ]);
    expect(value("container_oom_events_total")).toEqual([[[], 2]]);
    expect(value("container_threads")).toEqual([[[], 3]]);
    expect(value("container_threads_max")).toEqual([[[], 100]]);
    expect(value("container_fs_usage_bytes")).toEqual([[["/var/lib/skiff/snapshots"], 4096]]);
    expect(value("container_spec_memory_limit_bytes")).toEqual([[[], 67108864]]);
    expect(value("container_spec_cpu_shares")).toEqual([[[], 0]]);
    expect(value("container_start_time_seconds")).toEqual([[[], 1_700_000_000]]);
    expect(value("container_blkio_device_usage_total")).toEqual([
      [["8:0", "8", "0", "Read"], 4096],
      [["8:0", "8", "0", "Write"], 0],
    ]);
  });

  test("a container whose cgroup cannot be read has no cgroup metrics, and no invented ones", () => {
    const names = new Set(containerMetrics(sample({ cgroup: undefined })).map((m) => m.name));
    expect(names.has("container_memory_usage_bytes")).toBe(false);
    expect(names.has("container_cpu_usage_seconds_total")).toBe(false);
    expect(names.has("container_processes")).toBe(true);
  });
});
