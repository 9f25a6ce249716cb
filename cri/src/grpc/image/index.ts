/**
 * The CRI ImageService handlers, one file per RPC. Every RPC of the service is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";

export function imageHandlers(_services: Services): HandlerTable {
  return {};
}
