import type { ContainerFilter__Output } from "../../generated/runtime/v1/ContainerFilter.js";
import type { ListContainersRequest__Output } from "../../generated/runtime/v1/ListContainersRequest.js";
import type { ListContainersResponse } from "../../generated/runtime/v1/ListContainersResponse.js";
import type { ContainerRecord } from "../../services/container/container-service.js";
import { criContainer, criState } from "../../services/container/cri-container.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";
import { PreEncoded } from "../pre-encoded.js";
import { loadServices } from "../proto.js";

/** The containers a ListContainers filter selects: id and pod by prefix, state, labels. */
export function selectContainers(
  services: Services,
  f: ContainerFilter__Output | null | undefined,
): ContainerRecord[] {
  return services.containers
    .list()
    .filter(
      (c) =>
        (!f?.id || c.id.startsWith(f.id)) &&
        (!f?.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id)) &&
        (!f?.state || criState(c.state) === f.state.state) &&
        Object.entries(f?.label_selector ?? {}).every(([k, v]) => c.config.labels[k] === v),
    );
}

/**
 * ListContainers. kubelet lists every container every second, so each container's
 * encoding is kept with the record it came from (a record's only field that changes and
 * shows here is its state) and the answer is those encodings joined (pre-encoded.ts).
 */
export const listContainers = (
  services: Services,
): UnaryHandler<ListContainersRequest__Output, ListContainersResponse | PreEncoded> => {
  const encodeOne = loadServices().runtime["ListContainers"]!.responseSerialize;
  const encoded = new WeakMap<ContainerRecord, { state: string; bytes: Buffer }>();
  const encoding = (r: ContainerRecord): Buffer => {
    let e = encoded.get(r);
    if (e?.state !== r.state) {
      e = { state: r.state, bytes: encodeOne({ containers: [criContainer(r)] }) };
      encoded.set(r, e);
    }
    return e.bytes;
  };
  return (request) =>
    new PreEncoded(Buffer.concat(selectContainers(services, request.filter).map(encoding)));
};
