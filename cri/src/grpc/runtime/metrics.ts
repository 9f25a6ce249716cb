/**
 * ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics: the cAdvisor
 * metrics kubelet reads through the CRI (services/metrics/pod-metrics.ts).
 */
import type { ListPodSandboxMetricsResponse } from "../../generated/runtime/v1/ListPodSandboxMetricsResponse.js";
import type { ListMetricDescriptorsResponse } from "../../generated/runtime/v1/ListMetricDescriptorsResponse.js";
import type { Metric } from "../../generated/runtime/v1/Metric.js";
import type { PodSandboxMetrics } from "../../generated/runtime/v1/PodSandboxMetrics.js";
import type { StreamPodSandboxMetricsRequest__Output } from "../../generated/runtime/v1/StreamPodSandboxMetricsRequest.js";
import type { StreamPodSandboxMetricsResponse } from "../../generated/runtime/v1/StreamPodSandboxMetricsResponse.js";
import {
  collectPodMetrics,
  metricDescriptors,
  type MetricSample,
  type PodMetrics,
} from "../../services/metrics/pod-metrics.js";
import type { Services } from "../context.js";
import type { HandlerTable, ServerStreamHandler, UnaryHandler } from "../instrument.js";
import { sendInPieces } from "./list-streams.js";

function toMetric(m: MetricSample, timestamp: string): Metric {
  return {
    name: m.name,
    timestamp,
    metric_type: m.kind,
    label_values: m.labelValues,
    value: { value: String(Math.max(0, Math.round(m.value))) },
  };
}

function toPodMetrics(p: PodMetrics): PodSandboxMetrics {
  const timestamp = String(p.timestampNs);
  return {
    pod_sandbox_id: p.podSandboxId,
    metrics: p.metrics.map((m) => toMetric(m, timestamp)),
    container_metrics: p.containers.map((c) => ({
      container_id: c.containerId,
      metrics: c.metrics.map((m) => toMetric(m, timestamp)),
    })),
  };
}

async function podMetrics(services: Services): Promise<PodSandboxMetrics[]> {
  const { mountpoint } = await services.images.fsInfo();
  return (await collectPodMetrics(services.sandboxes, services.containers, mountpoint)).map(
    toPodMetrics,
  );
}

const listMetricDescriptors: UnaryHandler<object, ListMetricDescriptorsResponse> = () => ({
  descriptors: metricDescriptors.map((d) => ({
    name: d.name,
    help: d.help,
    label_keys: d.labelKeys,
  })),
});

const listPodSandboxMetrics =
  (services: Services): UnaryHandler<object, ListPodSandboxMetricsResponse> =>
  async () => ({ pod_metrics: await podMetrics(services) });

/** The same as ListPodSandboxMetrics, in bounded messages. */
const streamPodSandboxMetrics =
  (
    services: Services,
  ): ServerStreamHandler<StreamPodSandboxMetricsRequest__Output, StreamPodSandboxMetricsResponse> =>
  async (_request, _ctx, send) => {
    await sendInPieces(await podMetrics(services), (piece) => send({ pod_sandbox_metrics: piece }));
  };

export function metricHandlers(services: Services): HandlerTable {
  return {
    ListMetricDescriptors: listMetricDescriptors,
    ListPodSandboxMetrics: listPodSandboxMetrics(services),
    StreamPodSandboxMetrics: streamPodSandboxMetrics(services),
  };
}
