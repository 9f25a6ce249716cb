/**
 * The CRI ImageService handlers, one file per RPC. Every RPC of the service is
 * registered; those not listed here answer UNIMPLEMENTED through the instrument wrapper.
 */
import type { Services } from "../context.js";
import type { HandlerTable } from "../instrument.js";
import { imageFsInfo } from "./image-fs-info.js";
import { listImages } from "./image-list.js";
import { pullImage } from "./image-pull.js";
import { removeImage } from "./image-remove.js";
import { imageStatus } from "./image-status.js";
import { streamImages } from "./image-stream.js";

export function imageHandlers(services: Services): HandlerTable {
  return {
    ListImages: listImages(services),
    StreamImages: streamImages(services),
    ImageStatus: imageStatus(services),
    PullImage: pullImage(services),
    RemoveImage: removeImage(services),
    ImageFsInfo: imageFsInfo(services),
  };
}
