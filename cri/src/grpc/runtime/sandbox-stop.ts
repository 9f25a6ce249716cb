import type { StopPodSandboxRequest__Output } from "../../generated/runtime/v1/StopPodSandboxRequest.js";
import type { StopPodSandboxResponse } from "../../generated/runtime/v1/StopPodSandboxResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** StopPodSandbox: idempotent; an unknown id is NOT_FOUND (as containerd answers). */
export const stopPodSandbox =
  (services: Services): UnaryHandler<StopPodSandboxRequest__Output, StopPodSandboxResponse> =>
  async (request) => {
    await services.sandboxes.stop(request.pod_sandbox_id);
    return {};
  };
