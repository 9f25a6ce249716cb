import type { ListContainersRequest__Output } from "../../generated/runtime/v1/ListContainersRequest.js";
import type { ListContainersResponse } from "../../generated/runtime/v1/ListContainersResponse.js";
import { criContainer, criState } from "../../services/container/cri-container.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ListContainers: filters by id (prefix), state, pod and labels. */
export const listContainers =
  (services: Services): UnaryHandler<ListContainersRequest__Output, ListContainersResponse> =>
  async (request) => {
    const f = request.filter;
    const containers = services.containers
      .list()
      .filter(
        (c) =>
          (!f?.id || c.id.startsWith(f.id)) &&
          (!f?.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id)) &&
          (!f?.state || criState(c.state) === f.state.state) &&
          Object.entries(f?.label_selector ?? {}).every(([k, v]) => c.config.labels[k] === v),
      )
      .map(criContainer);
    return { containers };
  };
