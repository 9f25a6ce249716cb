import type { ContainerStatsRequest__Output } from "../../generated/runtime/v1/ContainerStatsRequest.js";
import type { ContainerStatsResponse } from "../../generated/runtime/v1/ContainerStatsResponse.js";
import type { ListContainerStatsRequest__Output } from "../../generated/runtime/v1/ListContainerStatsRequest.js";
import type { ListContainerStatsResponse } from "../../generated/runtime/v1/ListContainerStatsResponse.js";
import type { ContainerStats } from "../../generated/runtime/v1/ContainerStats.js";
import { invalidArgument } from "../../core/errors.js";
import type { ContainerService } from "../../services/container/container-service.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

async function statsOf(
  containers: ContainerService,
  id: string,
  mountpoint: string,
): Promise<ContainerStats> {
  const { record, stats, writableBytes, writableInodes } = await containers.stats(id);
  const timestamp = String(BigInt(Date.now()) * 1_000_000n);
  const u64 = (n: number | undefined) =>
    n === undefined ? null : { value: String(Math.max(0, Math.round(n))) };
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
  if (stats?.cpu) out.cpu = { timestamp, usage_core_nano_seconds: u64(stats.cpu.usageNanos) };
  if (stats?.memory) {
    const m = stats.memory;
    out.memory = {
      timestamp,
      working_set_bytes: u64(m.workingSetBytes),
      usage_bytes: u64(m.usageBytes),
      rss_bytes: u64(m.rssBytes),
      page_faults: u64(m.pageFaults),
      major_page_faults: u64(m.majorPageFaults),
      available_bytes: m.limitBytes === undefined ? null : u64(m.limitBytes - m.workingSetBytes),
    };
  }
  return out;
}

/** ContainerStats: cgroup CPU and memory, and the writable layer's usage. */
export const containerStats =
  (services: Services): UnaryHandler<ContainerStatsRequest__Output, ContainerStatsResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    const { mountpoint } = await services.images.fsInfo();
    return { stats: await statsOf(services.containers, request.container_id, mountpoint) };
  };

/** ListContainerStats: the same for every container the filter selects. */
export const listContainerStats =
  (
    services: Services,
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
        stats.push(await statsOf(services.containers, c.id, mountpoint));
      } catch {
        // removed meanwhile
      }
    }
    return { stats };
  };
