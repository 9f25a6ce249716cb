/**
 * The v0.37 Stream* list calls (KEP-5825): the List answers in bounded messages, so a
 * node with many objects never hits the gRPC message size limit.
 */
import type { StreamContainersRequest__Output } from "../../generated/runtime/v1/StreamContainersRequest.js";
import type { StreamContainersResponse } from "../../generated/runtime/v1/StreamContainersResponse.js";
import type { StreamContainerStatsRequest__Output } from "../../generated/runtime/v1/StreamContainerStatsRequest.js";
import type { StreamContainerStatsResponse } from "../../generated/runtime/v1/StreamContainerStatsResponse.js";
import type { StreamPodSandboxesRequest__Output } from "../../generated/runtime/v1/StreamPodSandboxesRequest.js";
import type { StreamPodSandboxesResponse } from "../../generated/runtime/v1/StreamPodSandboxesResponse.js";
import type { StreamPodSandboxStatsRequest__Output } from "../../generated/runtime/v1/StreamPodSandboxStatsRequest.js";
import type { StreamPodSandboxStatsResponse } from "../../generated/runtime/v1/StreamPodSandboxStatsResponse.js";
import type { CpuRates } from "../../services/metrics/cpu-rates.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";
import { selectContainers } from "./container-list.js";
import { criContainer } from "../../services/container/cri-container.js";
import { listContainerStats } from "./container-stats.js";
import { listPodSandbox } from "./sandbox-list.js";
import { listPodSandboxStats } from "./sandbox-stats.js";

const perMessage = 500;

/** Sends `items` in bounded messages of at most `size` each. */
export async function sendInPieces<T>(
  items: T[],
  send: (piece: T[]) => Promise<void>,
  size = perMessage,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await send(items.slice(i, i + size));
}

export const streamContainers =
  (
    services: Services,
  ): ServerStreamHandler<StreamContainersRequest__Output, StreamContainersResponse> =>
  async (request, _ctx, send) => {
    const containers = selectContainers(services, request.filter).map(criContainer);
    await sendInPieces(containers, (piece) => send({ containers: piece }));
  };

export const streamContainerStats =
  (
    services: Services,
    rates: CpuRates,
  ): ServerStreamHandler<StreamContainerStatsRequest__Output, StreamContainerStatsResponse> =>
  async (request, ctx, send) => {
    const { stats } = await listContainerStats(services, rates)({ filter: request.filter }, ctx);
    await sendInPieces(stats ?? [], (piece) => send({ container_stats: piece }));
  };

export const streamPodSandboxes =
  (
    services: Services,
  ): ServerStreamHandler<StreamPodSandboxesRequest__Output, StreamPodSandboxesResponse> =>
  async (request, ctx, send) => {
    const { items } = await listPodSandbox(services)({ filter: request.filter }, ctx);
    await sendInPieces(items ?? [], (piece) => send({ pod_sandboxes: piece }));
  };

export const streamPodSandboxStats =
  (
    services: Services,
    rates: CpuRates,
  ): ServerStreamHandler<StreamPodSandboxStatsRequest__Output, StreamPodSandboxStatsResponse> =>
  async (request, ctx, send) => {
    const { stats } = await listPodSandboxStats(services, rates)({ filter: request.filter }, ctx);
    await sendInPieces(stats ?? [], (piece) => send({ pod_sandbox_stats: piece }));
  };
