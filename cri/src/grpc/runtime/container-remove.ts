import type { RemoveContainerRequest__Output } from "../../generated/runtime/v1/RemoveContainerRequest.js";
import type { RemoveContainerResponse } from "../../generated/runtime/v1/RemoveContainerResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** RemoveContainer: kills it if needed, frees its rootfs; idempotent. */
export const removeContainer =
  (services: Services): UnaryHandler<RemoveContainerRequest__Output, RemoveContainerResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    await services.containers.remove(request.container_id);
    return {};
  };
