import type { ContainerStatsRequest__Output } from "../../generated/runtime/v1/ContainerStatsRequest.js";
import type { ContainerStatsResponse } from "../../generated/runtime/v1/ContainerStatsResponse.js";
import type { ListContainerStatsRequest__Output } from "../../generated/runtime/v1/ListContainerStatsRequest.js";
import type { ListContainerStatsResponse } from "../../generated/runtime/v1/ListContainerStatsResponse.js";
import type { ContainerStats } from "../../generated/runtime/v1/ContainerStats.js";
import { invalidArgument } from "../../core/errors.js";
import type { ContainerService } from "../../services/container/container-service.js";
import type { CpuRates } from "../../services/metrics/cpu-rates.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";
import { cpuUsage, memoryUsage } from "./usage.js";

/**
 * The stats of one container. With `rates`, usage_nano_cores is the rate since the
 * previous sample of this container, whichever call took it (ContainerStats,
 * ListContainerStats and PodSandboxStats share one tracker).
 */
export async function statsOf(
  containers: ContainerService,
  id: string,
  mountpoint: string,
  rates?: CpuRates,
): Promise<ContainerStats> {
  const { record, stats, writableBytes, writableInodes } = await containers.stats(id);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const timestamp = String(nowNs);
  const out: ContainerStats = {
    attributes: {
      id: record.id,
      metadata: record.config.metadata ?? { name: "", attempt: 0 },
      labels: record.config.labels,
      annotations: record.config.annotations,
    },
    writable_layer: {
      timestamp,
      fs_id: { mountpoint },
      used_bytes: { value: String(writableBytes) },
      inodes_used: { value: String(writableInodes) },
    },
  };
  if (stats?.cpu) {
    const nanoCores = rates?.rate(record.id, stats.cpu.usageNanos, nowNs);
    out.cpu = cpuUsage(stats.cpu, nowNs, nanoCores);
  }
  if (stats?.memory) out.memory = memoryUsage(stats.memory, nowNs);
  return out;
}

/** ContainerStats: cgroup CPU and memory, and the writable layer's usage. */
export const containerStats =
  (
    services: Services,
    rates: CpuRates,
  ): UnaryHandler<ContainerStatsRequest__Output, ContainerStatsResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    const { mountpoint } = await services.images.fsInfo();
    return {
      stats: await statsOf(services.containers, request.container_id, mountpoint, rates),
    };
  };

/** ListContainerStats: the same for every container the filter selects. */
export const listContainerStats =
  (
    services: Services,
    rates: CpuRates,
  ): UnaryHandler<ListContainerStatsRequest__Output, ListContainerStatsResponse> =>
  async (request) => {
    const f = request.filter;
    const { mountpoint } = await services.images.fsInfo();
    const selected = services.containers
      .list()
      .filter(
        (c) =>
          c.state !== "exited" &&
          (!f?.id || c.id.startsWith(f.id)) &&
          (!f?.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id)) &&
          Object.entries(f?.label_selector ?? {}).every(([k, v]) => c.config.labels[k] === v),
      );
    const stats: ContainerStats[] = [];
    for (const c of selected) {
      try {
        stats.push(await statsOf(services.containers, c.id, mountpoint, rates));
      } catch {
        // removed meanwhile
      }
    }
    return { stats };
  };
