/**
 * The CRI RuntimeService handlers, one file per RPC. Every RPC of the service is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";
import { runtimeConfig } from "./runtime-config.js";
import { status } from "./status.js";
import { version } from "./version.js";

export function runtimeHandlers(services: Services): HandlerTable {
  return {
    Version: version,
    Status: status(services),
    RuntimeConfig: runtimeConfig,
  };
}
