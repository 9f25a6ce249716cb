/**
 * Skiff's own services (proto/skiff/v1), keyed by service name. Every RPC is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";
import { configGet } from "./config-get.js";
import { configReload } from "./config-reload.js";

export function skiffHandlers(services: Services): Record<string, HandlerTable> {
  return {
    Config: { Get: configGet(services), Reload: configReload(services) },
  };
}
