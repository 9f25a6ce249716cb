/**
 * What goes on the remotecommand error stream when an exec or attach ends, as
 * kubelet writes it: v4 and later carry a JSON metav1.Status (a non-zero exit is a
 * Failure with reason NonZeroExitCode and an ExitCode cause holding the number); v1 to
 * v3 write nothing on success and the status message as plain text otherwise.
 */

export interface Status {
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export function successStatus(): Status {
  return { metadata: {}, status: "Success" };
}

export function exitCodeStatus(cmd: string[], exitCode: number): Status {
  return {
    metadata: {},
    status: "Failure",
    message:
      `command terminated with non-zero exit code: error executing command ` +
      `[${cmd.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

export function internalErrorStatus(message: string): Status {
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${message}`,
    reason: "InternalError",
    details: { causes: [{ message }] },
    code: 500,
  };
}

/** The bytes for the error stream, or undefined when nothing is written. */
export function encodeStatus(status: Status, jsonStatus: boolean): Buffer | undefined {
  if (jsonStatus) return Buffer.from(JSON.stringify(status));
  if (status.status === "Success") return undefined;
  return Buffer.from(status.message ?? "");
}

/** Reads the exit code back out of a status (clients, tests). */
export function statusExitCode(status: Status): number {
  if (status.status === "Success") return 0;
  const cause = status.details?.causes.find((c) => c.reason === "ExitCode");
  if (status.reason === "NonZeroExitCode" && cause) return Number(cause.message);
  return -1;
}
