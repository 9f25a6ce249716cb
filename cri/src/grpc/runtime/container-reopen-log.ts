import type { ReopenContainerLogRequest__Output } from "../../generated/runtime/v1/ReopenContainerLogRequest.js";
import type { ReopenContainerLogResponse } from "../../generated/runtime/v1/ReopenContainerLogResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ReopenContainerLog: the monitor reopens the log path (kubelet rotated the file). */
export const reopenContainerLog =
  (
    services: Services,
  ): UnaryHandler<ReopenContainerLogRequest__Output, ReopenContainerLogResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    await services.containers.reopenLog(request.container_id);
    return {};
  };
