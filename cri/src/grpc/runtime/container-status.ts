import type { ContainerStatusRequest__Output } from "../../generated/runtime/v1/ContainerStatusRequest.js";
import type { ContainerStatusResponse } from "../../generated/runtime/v1/ContainerStatusResponse.js";
import { invalidArgument } from "../../core/errors.js";
import { criContainerStatus } from "../../services/container/cri-container.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ContainerStatus: state, times, exit code and reason (OOMKilled, Error, Completed). */
export const containerStatus =
  (services: Services): UnaryHandler<ContainerStatusRequest__Output, ContainerStatusResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    const record = await services.containers.get(request.container_id);
    const info: Record<string, string> = {};
    if (request.verbose) {
      info["info"] = JSON.stringify({
        sandboxID: record.sandboxId,
        name: record.name,
        imageRef: record.imageRef,
        config: record.config,
      });
    }
    const status = criContainerStatus(record);
    const user = services.containers.processUser(record.id);
    if (user) {
      status.user = {
        linux: { uid: user.uid, gid: user.gid, supplemental_groups: user.groups },
      };
    }
    return { status, info };
  };
