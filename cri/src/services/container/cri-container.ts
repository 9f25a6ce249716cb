/** Container records as the CRI shows them (runtime.v1 Container, ContainerStatus). */
import type { Container } from "../../generated/runtime/v1/Container.js";
import type { ContainerStatus } from "../../generated/runtime/v1/ContainerStatus.js";
import type { ContainerState } from "../../generated/runtime/v1/ContainerState.js";
import type { ContainerRecord, ContainerStateName } from "./container-service.js";

const criStates: Record<ContainerStateName, ContainerState> = {
  creating: "CONTAINER_UNKNOWN",
  created: "CONTAINER_CREATED",
  running: "CONTAINER_RUNNING",
  exited: "CONTAINER_EXITED",
};

export const criState = (s: ContainerStateName): ContainerState => criStates[s];

export function criContainer(r: ContainerRecord): Container {
  return {
    id: r.id,
    pod_sandbox_id: r.sandboxId,
    metadata: r.config.metadata ?? { name: "", attempt: 0 },
    image: { image: r.imageId, annotations: {}, user_specified_image: r.imageRef },
    image_ref: r.imageId,
    image_id: r.imageId,
    state: criState(r.state),
    created_at: r.createdNs.toString(),
    labels: r.config.labels,
    annotations: r.config.annotations,
  };
}

export function criContainerStatus(r: ContainerRecord): ContainerStatus {
  return {
    id: r.id,
    metadata: r.config.metadata ?? { name: "", attempt: 0 },
    state: criState(r.state),
    created_at: r.createdNs.toString(),
    started_at: r.startedNs.toString(),
    finished_at: r.finishedNs.toString(),
    exit_code: r.exitCode,
    image: { image: r.imageRef, annotations: {}, user_specified_image: r.imageRef },
    image_ref: r.imageId,
    image_id: r.imageId,
    reason: r.reason,
    message: r.message,
    labels: r.config.labels,
    annotations: r.config.annotations,
    mounts: r.config.mounts,
    log_path: r.logPath,
    stop_signal: r.config.stop_signal,
  };
}
