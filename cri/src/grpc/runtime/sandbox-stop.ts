import type { StopPodSandboxRequest__Output } from "../../generated/runtime/v1/StopPodSandboxRequest.js";
import type { StopPodSandboxResponse } from "../../generated/runtime/v1/StopPodSandboxResponse.js";
import { SkiffError } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/**
 * StopPodSandbox: idempotent, and "must not return an error if all relevant resources have
 * already been reclaimed" (api.proto), so an unknown id succeeds, as critest checks.
 */
export const stopPodSandbox =
  (services: Services): UnaryHandler<StopPodSandboxRequest__Output, StopPodSandboxResponse> =>
  async (request) => {
    try {
      await services.sandboxes.stop(request.pod_sandbox_id);
    } catch (err) {
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    return {};
  };
