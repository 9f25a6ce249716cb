import type { RunPodSandboxRequest__Output } from "../../generated/runtime/v1/RunPodSandboxRequest.js";
import type { RunPodSandboxResponse } from "../../generated/runtime/v1/RunPodSandboxResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/**
 * RunPodSandbox: reserves the name, makes the pod (netns, CNI, cgroup, shm, files, infra
 * process) and answers its id; a retry with the same name answers the first attempt's id.
 * Bad metadata, hostname, sysctls, ports or handler: INVALID_ARGUMENT, nothing made.
 */
export const runPodSandbox =
  (services: Services): UnaryHandler<RunPodSandboxRequest__Output, RunPodSandboxResponse> =>
  async (request, ctx) => {
    const id = await services.sandboxes.run(request.config, request.runtime_handler);
    ctx.log.info({ pod_sandbox_id: id }, "pod sandbox running");
    return { pod_sandbox_id: id };
  };
