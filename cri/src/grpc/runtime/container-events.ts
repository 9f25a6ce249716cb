import type { GetEventsRequest__Output } from "../../generated/runtime/v1/GetEventsRequest.js";
import type { ContainerEventResponse } from "../../generated/runtime/v1/ContainerEventResponse.js";
import type { ContainerEventType } from "../../generated/runtime/v1/ContainerEventType.js";
import type { ContainerEvent } from "../../services/container/container-service.js";
import { criContainerStatus } from "../../services/container/cri-container.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";
import { podSandboxStatusOf } from "./sandbox-view.js";

const eventTypes: Record<ContainerEvent["type"], ContainerEventType> = {
  created: "CONTAINER_CREATED_EVENT",
  started: "CONTAINER_STARTED_EVENT",
  stopped: "CONTAINER_STOPPED_EVENT",
  deleted: "CONTAINER_DELETED_EVENT",
};

/**
 * GetContainerEvents: container lifecycle events as they happen (kubelet's evented
 * PLEG), each with the pod's status and its containers' statuses. Ends when the client
 * goes away.
 */
export const getContainerEvents =
  (services: Services): ServerStreamHandler<GetEventsRequest__Output, ContainerEventResponse> =>
  async (_request, ctx, send) => {
    const queue: ContainerEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: ContainerEvent) => {
      queue.push(event);
      wake?.();
    };
    services.containers.events.on("event", listener);
    services.containers.watchExits(true);
    try {
      while (!ctx.signal.aborted) {
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            ctx.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          wake = undefined;
          continue;
        }
        const response: ContainerEventResponse = {
          container_id: event.containerId,
          container_event_type: eventTypes[event.type],
          created_at: event.atNs.toString(),
          containers_statuses: [],
        };
        try {
          response.pod_sandbox_status = podSandboxStatusOf(
            await services.sandboxes.status(event.sandboxId),
          );
          const records = services.containers.list().filter((c) => c.sandboxId === event.sandboxId);
          response.containers_statuses = records.map(criContainerStatus);
        } catch {
          // the pod went away meanwhile: the event still goes out
        }
        await send(response);
      }
    } finally {
      services.containers.events.off("event", listener);
      if (services.containers.events.listenerCount("event") === 0)
        services.containers.watchExits(false);
    }
  };
