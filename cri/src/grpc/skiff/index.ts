/**
 * Skiff's own services (proto/skiff/v1), keyed by service name. Every RPC is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";
import { configGet } from "./config-get.js";
import { configReload } from "./config-reload.js";
import { imagesLoad } from "./image-load.js";
import { imagesPull } from "./image-pull.js";
import { imagesPush } from "./image-push.js";
import { imagesSave } from "./image-save.js";
import { imagesTag } from "./image-tag.js";
import { imagesUntag } from "./image-untag.js";

export function skiffHandlers(services: Services): Record<string, HandlerTable> {
  return {
    Config: { Get: configGet(services), Reload: configReload(services) },
    Images: {
      Tag: imagesTag(services),
      Untag: imagesUntag(services),
      Push: imagesPush(services),
      Pull: imagesPull(services),
      Save: imagesSave(services),
      Load: imagesLoad(services),
    },
  };
}
