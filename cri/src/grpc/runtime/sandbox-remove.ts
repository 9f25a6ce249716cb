import type { RemovePodSandboxRequest__Output } from "../../generated/runtime/v1/RemovePodSandboxRequest.js";
import type { RemovePodSandboxResponse } from "../../generated/runtime/v1/RemovePodSandboxResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** RemovePodSandbox: stops the pod if needed and removes it; an unknown id is fine. */
export const removePodSandbox =
  (services: Services): UnaryHandler<RemovePodSandboxRequest__Output, RemovePodSandboxResponse> =>
  async (request) => {
    if (request.pod_sandbox_id === "") throw invalidArgument("pod_sandbox_id is required");
    await services.sandboxes.remove(request.pod_sandbox_id);
    return {};
  };
