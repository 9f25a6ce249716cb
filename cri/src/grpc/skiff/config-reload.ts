import type { ReloadConfigRequest__Output } from "../../generated/skiff/v1/ReloadConfigRequest.js";
import type { ReloadConfigResponse } from "../../generated/skiff/v1/ReloadConfigResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** Config/Reload: read the files again; a bad file is refused (INVALID_ARGUMENT). */
export const configReload =
  (services: Services): UnaryHandler<ReloadConfigRequest__Output, ReloadConfigResponse> =>
  () => {
    const { config, loadedAtNs } = services.config.reload();
    return { files: config.files, loaded_at_ns: loadedAtNs.toString() };
  };
