import type { VersionRequest__Output } from "../../generated/runtime/v1/VersionRequest.js";
import type { VersionResponse } from "../../generated/runtime/v1/VersionResponse.js";
import { version as runtimeVersion } from "../../services/runtime/runtime-status.js";
import type { UnaryHandler } from "../instrument.js";

/** Version: runtime name and version, and the CRI API version served. */
export const version: UnaryHandler<VersionRequest__Output, VersionResponse> = () =>
  runtimeVersion();
