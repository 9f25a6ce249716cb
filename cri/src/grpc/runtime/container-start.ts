import type { StartContainerRequest__Output } from "../../generated/runtime/v1/StartContainerRequest.js";
import type { StartContainerResponse } from "../../generated/runtime/v1/StartContainerResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** StartContainer: the created container's process execs. */
export const startContainer =
  (services: Services): UnaryHandler<StartContainerRequest__Output, StartContainerResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    await services.containers.start(request.container_id);
    return {};
  };
