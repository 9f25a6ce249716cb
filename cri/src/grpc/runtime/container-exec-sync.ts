import type { ExecSyncRequest__Output } from "../../generated/runtime/v1/ExecSyncRequest.js";
import type { ExecSyncResponse } from "../../generated/runtime/v1/ExecSyncResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ExecSync: run a command, wait for it (timeout), return its output (16 MiB each, capped). */
export const execSync =
  (services: Services): UnaryHandler<ExecSyncRequest__Output, ExecSyncResponse> =>
  async (request) => {
    if (!request.container_id) throw invalidArgument("container_id: required");
    const timeout = Number(request.timeout || "0");
    const result = await services.containers.execSync(request.container_id, request.cmd, timeout);
    return { stdout: result.stdout, stderr: result.stderr, exit_code: result.exitCode };
  };
