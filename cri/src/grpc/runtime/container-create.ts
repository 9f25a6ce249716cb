import type { CreateContainerRequest__Output } from "../../generated/runtime/v1/CreateContainerRequest.js";
import type { CreateContainerResponse } from "../../generated/runtime/v1/CreateContainerResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** CreateContainer: image snapshot, OCI spec from image + CRI config, container created (not started). */
export const createContainer =
  (services: Services): UnaryHandler<CreateContainerRequest__Output, CreateContainerResponse> =>
  async (request) => {
    if (!request.pod_sandbox_id) throw invalidArgument("pod_sandbox_id: required");
    return {
      container_id: await services.containers.create(request.pod_sandbox_id, request.config),
    };
  };
