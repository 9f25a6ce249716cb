import type { UpdateContainerResourcesRequest__Output } from "../../generated/runtime/v1/UpdateContainerResourcesRequest.js";
import type { UpdateContainerResourcesResponse } from "../../generated/runtime/v1/UpdateContainerResourcesResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** UpdateContainerResources: new cgroup limits for a running container. */
export const updateContainerResources =
  (
    services: Services,
  ): UnaryHandler<UpdateContainerResourcesRequest__Output, UpdateContainerResourcesResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    await services.containers.updateResources(request.container_id, request.linux);
    return {};
  };
