/** What the RPC handlers reach: the services skiff-cri wires together in daemon/. */
import type { ConfigService } from "../services/config/config-service.js";
import type { ImageService } from "../services/image/image-service.js";
import type { RuntimeStatusSources } from "../services/runtime/runtime-status.js";

export interface Services {
  config: ConfigService;
  images: ImageService;
  status: RuntimeStatusSources;
}
