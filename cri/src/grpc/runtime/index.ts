/**
 * The CRI RuntimeService handlers, one file per RPC. Every RPC of the service is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";
import { createContainer } from "./container-create.js";
import { getContainerEvents } from "./container-events.js";
import { attach, exec, portForward } from "./container-exec.js";
import { CpuRates } from "../../services/metrics/cpu-rates.js";
import {
  streamContainerStats,
  streamContainers,
  streamPodSandboxStats,
  streamPodSandboxes,
} from "./list-streams.js";
import { metricHandlers } from "./metrics.js";
import { execSync } from "./container-exec-sync.js";
import { listContainers } from "./container-list.js";
import { removeContainer } from "./container-remove.js";
import { reopenContainerLog } from "./container-reopen-log.js";
import { startContainer } from "./container-start.js";
import { containerStats, listContainerStats } from "./container-stats.js";
import { containerStatus } from "./container-status.js";
import { stopContainer } from "./container-stop.js";
import { updateContainerResources } from "./container-update-resources.js";
import { runtimeConfig } from "./runtime-config.js";
import { listPodSandbox } from "./sandbox-list.js";
import { removePodSandbox } from "./sandbox-remove.js";
import { listPodSandboxStats, podSandboxStats } from "./sandbox-stats.js";
import { runPodSandbox } from "./sandbox-run.js";
import { podSandboxStatus } from "./sandbox-status.js";
import { stopPodSandbox } from "./sandbox-stop.js";
import { updatePodSandboxResources } from "./sandbox-update-resources.js";
import { status } from "./status.js";
import { updateRuntimeConfig } from "./update-runtime-config.js";
import { version } from "./version.js";

export function runtimeHandlers(services: Services): HandlerTable {
  // The previous CPU sample of each pod and container, for usage_nano_cores.
  const rates = new CpuRates();
  return {
    Version: version,
    Status: status(services),
    RuntimeConfig: runtimeConfig,
    UpdateRuntimeConfig: updateRuntimeConfig(services),
    RunPodSandbox: runPodSandbox(services),
    StopPodSandbox: stopPodSandbox(services),
    RemovePodSandbox: removePodSandbox(services),
    PodSandboxStatus: podSandboxStatus(services),
    ListPodSandbox: listPodSandbox(services),
    UpdatePodSandboxResources: updatePodSandboxResources(services),
    PodSandboxStats: podSandboxStats(services, rates),
    ListPodSandboxStats: listPodSandboxStats(services, rates),
    StreamPodSandboxes: streamPodSandboxes(services),
    StreamPodSandboxStats: streamPodSandboxStats(services, rates),
    CreateContainer: createContainer(services),
    StartContainer: startContainer(services),
    StopContainer: stopContainer(services),
    RemoveContainer: removeContainer(services),
    ContainerStatus: containerStatus(services),
    ListContainers: listContainers(services),
    UpdateContainerResources: updateContainerResources(services),
    ReopenContainerLog: reopenContainerLog(services),
    ExecSync: execSync(services),
    ContainerStats: containerStats(services, rates),
    ListContainerStats: listContainerStats(services, rates),
    StreamContainers: streamContainers(services),
    StreamContainerStats: streamContainerStats(services, rates),
    GetContainerEvents: getContainerEvents(services),
    Exec: exec(services),
    Attach: attach(services),
    PortForward: portForward(services),
    ...metricHandlers(services),
  };
}
