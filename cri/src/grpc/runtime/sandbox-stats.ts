/**
 * PodSandboxStats and ListPodSandboxStats: what kubelet's CRI stats provider reads when
 * the runtime alone reports pod and container stats (PodAndContainerStatsFromCRI). A
 * pod's CPU, memory and process count come from the pod cgroup (so they cover the infra
 * process and every container), its network from the interfaces of its namespace, and
 * `containers` holds the ContainerStats of each of its containers that has not exited.
 * usage_nano_cores is the rate since the previous sample of the same pod or container
 * (absent on the first one). A NOTREADY pod answers with what is still readable.
 */
import type { LinuxPodSandboxStats } from "../../generated/runtime/v1/LinuxPodSandboxStats.js";
import type { ListPodSandboxStatsRequest__Output } from "../../generated/runtime/v1/ListPodSandboxStatsRequest.js";
import type { ListPodSandboxStatsResponse } from "../../generated/runtime/v1/ListPodSandboxStatsResponse.js";
import type { PodSandboxStats } from "../../generated/runtime/v1/PodSandboxStats.js";
import type { PodSandboxStatsRequest__Output } from "../../generated/runtime/v1/PodSandboxStatsRequest.js";
import type { PodSandboxStatsResponse } from "../../generated/runtime/v1/PodSandboxStatsResponse.js";
import type { ContainerStats } from "../../generated/runtime/v1/ContainerStats.js";
import type { CpuRates } from "../../services/metrics/cpu-rates.js";
import { podUsage } from "../../services/metrics/pod-usage.js";
import type { SandboxFilter, SandboxView } from "../../services/sandbox/sandbox-service.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";
import { statsOf } from "./container-stats.js";
import { cpuUsage, memoryUsage, networkUsage, processUsage } from "./usage.js";

/** The ids of the containers (not exited) of each of `podIds`. */
function containersOf(services: Services, podIds: Set<string>): Map<string, string[]> {
  const byPod = new Map<string, string[]>();
  for (const c of services.containers.list()) {
    if (c.state === "exited" || !podIds.has(c.sandboxId)) continue;
    byPod.set(c.sandboxId, [...(byPod.get(c.sandboxId) ?? []), c.id]);
  }
  return byPod;
}

async function podStatsOf(
  services: Services,
  rates: CpuRates,
  pod: SandboxView,
  containerIds: string[],
  mountpoint: string,
): Promise<PodSandboxStats> {
  const { record } = pod;
  const usage = await podUsage(services.sandboxes, pod);
  const t = usage.timestampNs;
  const linux: LinuxPodSandboxStats = { containers: [] };
  const cpu = usage.cgroup?.cpu;
  if (cpu) linux.cpu = cpuUsage(cpu, t, rates.rate(record.id, cpu.usageNanos, t));
  if (usage.cgroup?.memory) linux.memory = memoryUsage(usage.cgroup.memory, t);
  if (usage.interfaces) linux.network = networkUsage(usage.interfaces, t);
  if (usage.processCount !== undefined) linux.process = processUsage(usage.processCount, t);
  const containers: ContainerStats[] = [];
  for (const id of containerIds) {
    try {
      containers.push(await statsOf(services.containers, id, mountpoint, rates));
    } catch {
      // removed meanwhile
    }
  }
  linux.containers = containers;
  return {
    attributes: {
      id: record.id,
      metadata: record.config.metadata ?? {},
      labels: record.config.labels,
      annotations: record.config.annotations,
    },
    linux,
    windows: null,
  };
}

/** The stats of `pods`, in their order. */
async function podStatsOfPods(
  services: Services,
  rates: CpuRates,
  pods: SandboxView[],
): Promise<PodSandboxStats[]> {
  const { mountpoint } = await services.images.fsInfo();
  const byPod = containersOf(services, new Set(pods.map((p) => p.record.id)));
  const out: PodSandboxStats[] = [];
  for (const pod of pods) {
    const ids = byPod.get(pod.record.id) ?? [];
    out.push(await podStatsOf(services, rates, pod, ids, mountpoint));
  }
  return out;
}

/** PodSandboxStats: one pod by id (or unambiguous prefix); NotFound when unknown. */
export const podSandboxStats =
  (
    services: Services,
    rates: CpuRates,
  ): UnaryHandler<PodSandboxStatsRequest__Output, PodSandboxStatsResponse> =>
  async (request) => {
    const pod = await services.sandboxes.status(request.pod_sandbox_id);
    const [stats] = await podStatsOfPods(services, rates, [pod]);
    return { stats: stats ?? null };
  };

/** ListPodSandboxStats: every pod whose id starts with filter.id and that has the labels. */
export const listPodSandboxStats =
  (
    services: Services,
    rates: CpuRates,
  ): UnaryHandler<ListPodSandboxStatsRequest__Output, ListPodSandboxStatsResponse> =>
  async (request) => {
    const f = request.filter;
    const filter: SandboxFilter = {};
    if (f?.id) filter.id = f.id;
    if (f && Object.keys(f.label_selector).length > 0) filter.labels = f.label_selector;
    const pods = await services.sandboxes.list(filter);
    return { stats: await podStatsOfPods(services, rates, pods) };
  };
