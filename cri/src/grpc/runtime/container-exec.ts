import type { ExecRequest__Output } from "../../generated/runtime/v1/ExecRequest.js";
import type { ExecResponse } from "../../generated/runtime/v1/ExecResponse.js";
import type { AttachRequest__Output } from "../../generated/runtime/v1/AttachRequest.js";
import type { AttachResponse } from "../../generated/runtime/v1/AttachResponse.js";
import type { PortForwardRequest__Output } from "../../generated/runtime/v1/PortForwardRequest.js";
import type { PortForwardResponse } from "../../generated/runtime/v1/PortForwardResponse.js";
import { failedPrecondition, invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

async function running(services: Services, id: string): Promise<void> {
  if (!id) throw invalidArgument("container_id: required");
  const record = await services.containers.get(id);
  if (record.state !== "running")
    throw failedPrecondition(`container ${id} is ${record.state}, not running`);
}

/** Exec: a single-use URL on the streaming server (kubelet's CRI streaming contract). */
export const exec =
  (services: Services): UnaryHandler<ExecRequest__Output, ExecResponse> =>
  async (request) => {
    await running(services, request.container_id);
    return {
      url: services.streaming.getExec({
        containerId: request.container_id,
        cmd: request.cmd,
        tty: request.tty,
        stdin: request.stdin,
        stdout: request.stdout,
        stderr: request.stderr,
      }),
    };
  };

/** Attach: a single-use URL joining the container's own stdio. */
export const attach =
  (services: Services): UnaryHandler<AttachRequest__Output, AttachResponse> =>
  async (request) => {
    await running(services, request.container_id);
    return {
      url: services.streaming.getAttach({
        containerId: request.container_id,
        tty: request.tty,
        stdin: request.stdin,
        stdout: request.stdout,
        stderr: request.stderr,
      }),
    };
  };

/** PortForward: a single-use URL whose streams reach ports inside the pod's network namespace. */
export const portForward =
  (services: Services): UnaryHandler<PortForwardRequest__Output, PortForwardResponse> =>
  async (request) => {
    if (!request.pod_sandbox_id) throw invalidArgument("pod_sandbox_id: required");
    const view = await services.sandboxes.status(request.pod_sandbox_id);
    if (!view.ready) throw failedPrecondition(`pod sandbox ${request.pod_sandbox_id} is not ready`);
    return {
      url: services.streaming.getPortForward({ podSandboxId: view.record.id, ports: request.port }),
    };
  };
