import { stringify } from "yaml";
import type { GetConfigRequest__Output } from "../../generated/skiff/v1/GetConfigRequest.js";
import type { GetConfigResponse } from "../../generated/skiff/v1/GetConfigResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** Config/Get: the configuration in force, as YAML, and the files it came from. */
export const configGet =
  (services: Services): UnaryHandler<GetConfigRequest__Output, GetConfigResponse> =>
  () => {
    const { config, loadedAtNs } = services.config.current();
    const registries = Object.fromEntries(
      Object.entries(config.registries).map(([host, { source: _source, ...rest }]) => [host, rest]),
    );
    return {
      yaml: stringify({ registries }),
      files: config.files,
      loaded_at_ns: loadedAtNs.toString(),
    };
  };
