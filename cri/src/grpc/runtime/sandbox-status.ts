import type { PodSandboxStatusRequest__Output } from "../../generated/runtime/v1/PodSandboxStatusRequest.js";
import type { PodSandboxStatusResponse } from "../../generated/runtime/v1/PodSandboxStatusResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";
import { podSandboxStatusOf } from "./sandbox-view.js";

/** PodSandboxStatus: state, IPs, namespaces, labels; `verbose` adds an "info" JSON as crictl inspectp shows. */
export const podSandboxStatus =
  (services: Services): UnaryHandler<PodSandboxStatusRequest__Output, PodSandboxStatusResponse> =>
  async (request) => {
    const view = await services.sandboxes.status(request.pod_sandbox_id);
    const info: Record<string, string> = {};
    if (request.verbose) {
      const { record } = view;
      info["info"] = JSON.stringify({
        pid: view.infraPid,
        processStatus: view.ready ? "running" : "stopped",
        netNamespacePath: record.netnsPath,
        netNamespaceClosed: record.netnsPath === "",
        hostname: record.hostname,
        cgroupPath: record.cgroupPath,
        shmPath: record.shmPath,
        runtimeHandler: record.runtimeHandler,
        infraContainerId: record.infraId,
        config: record.config,
      });
    }
    return {
      status: podSandboxStatusOf(view),
      info,
      containers_statuses: [],
      timestamp: (BigInt(Date.now()) * 1_000_000n).toString(),
    };
  };
