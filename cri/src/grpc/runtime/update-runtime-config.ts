import type { UpdateRuntimeConfigRequest__Output } from "../../generated/runtime/v1/UpdateRuntimeConfigRequest.js";
import type { UpdateRuntimeConfigResponse } from "../../generated/runtime/v1/UpdateRuntimeConfigResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** UpdateRuntimeConfig: kubelet passes the node's pod CIDR; CNI networks may use it. */
export const updateRuntimeConfig =
  (
    services: Services,
  ): UnaryHandler<UpdateRuntimeConfigRequest__Output, UpdateRuntimeConfigResponse> =>
  (request) => {
    const cidr = request.runtime_config?.network_config?.pod_cidr ?? "";
    if (cidr !== "") services.network.setPodCidr(cidr);
    return {};
  };
