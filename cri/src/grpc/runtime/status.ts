import type { StatusRequest__Output } from "../../generated/runtime/v1/StatusRequest.js";
import type { StatusResponse } from "../../generated/runtime/v1/StatusResponse.js";
import { runtimeStatus } from "../../services/runtime/runtime-status.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** Status: RuntimeReady and NetworkReady conditions; `verbose` adds info for crictl info. */
export const status =
  (services: Services): UnaryHandler<StatusRequest__Output, StatusResponse> =>
  (request) =>
    runtimeStatus(services.status, request.verbose);
