import type { StopContainerRequest__Output } from "../../generated/runtime/v1/StopContainerRequest.js";
import type { StopContainerResponse } from "../../generated/runtime/v1/StopContainerResponse.js";
import { SkiffError, invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** StopContainer: stop signal, `timeout` seconds of grace, then SIGKILL. Idempotent, and a
 * missing container is not an error. */
export const stopContainer =
  (services: Services): UnaryHandler<StopContainerRequest__Output, StopContainerResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    const timeout = Number(request.timeout || "0");
    if (!Number.isFinite(timeout) || timeout < 0)
      throw invalidArgument(`timeout: ${request.timeout} is not a number of seconds`);
    try {
      await services.containers.stop(request.container_id, timeout);
    } catch (err) {
      // As containerd and CRI-O: stopping a container that is gone is not an error.
      if (!(err instanceof SkiffError && err.kind === "NotFound")) throw err;
    }
    return {};
  };
