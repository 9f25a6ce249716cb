import type { UpdatePodSandboxResourcesRequest__Output } from "../../generated/runtime/v1/UpdatePodSandboxResourcesRequest.js";
import type { UpdatePodSandboxResourcesResponse } from "../../generated/runtime/v1/UpdatePodSandboxResourcesResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** UpdatePodSandboxResources: new overhead and resources applied to the pod cgroup. */
export const updatePodSandboxResources =
  (
    services: Services,
  ): UnaryHandler<UpdatePodSandboxResourcesRequest__Output, UpdatePodSandboxResourcesResponse> =>
  async (request) => {
    await services.sandboxes.updateResources(
      request.pod_sandbox_id,
      request.overhead,
      request.resources,
    );
    return {};
  };
