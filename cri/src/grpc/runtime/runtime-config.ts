import type { RuntimeConfigRequest__Output } from "../../generated/runtime/v1/RuntimeConfigRequest.js";
import type { RuntimeConfigResponse } from "../../generated/runtime/v1/RuntimeConfigResponse.js";
import type { UnaryHandler } from "../instrument.js";

/** RuntimeConfig: Skiff drives cgroups through cgroupfs (these nodes have no systemd). */
export const runtimeConfig: UnaryHandler<
  RuntimeConfigRequest__Output,
  RuntimeConfigResponse
> = () => ({
  linux: { cgroup_driver: "CGROUPFS" },
});
