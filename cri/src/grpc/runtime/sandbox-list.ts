import type { ListPodSandboxRequest__Output } from "../../generated/runtime/v1/ListPodSandboxRequest.js";
import type { ListPodSandboxResponse } from "../../generated/runtime/v1/ListPodSandboxResponse.js";
import type { SandboxFilter } from "../../services/sandbox/sandbox-service.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";
import { podSandboxOf } from "./sandbox-view.js";

/** ListPodSandbox: filters by id prefix (crictl passes truncated ids), state and labels. */
export const listPodSandbox =
  (services: Services): UnaryHandler<ListPodSandboxRequest__Output, ListPodSandboxResponse> =>
  async (request) => {
    const f = request.filter;
    const filter: SandboxFilter = {};
    if (f) {
      if (f.id !== "") filter.id = f.id;
      if (f.state)
        filter.state = f.state.state === "SANDBOX_READY" ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
      if (Object.keys(f.label_selector).length > 0) filter.labels = f.label_selector;
    }
    const views = await services.sandboxes.list(filter);
    return { items: views.map(podSandboxOf) };
  };
