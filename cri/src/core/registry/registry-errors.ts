/**
 * Registry HTTP answers mapped to Skiff error kinds, with messages that name the
 * operation, the reference and the endpoint:
 *   401 → Unauthenticated, 403 → PermissionDenied, 404 → NotFound,
 *   429 and 5xx → Unavailable, other 4xx → FailedPrecondition (or InvalidArgument for
 *   a refused upload), digest mismatches → DataLoss (raised where they are found).
 * The body's distribution error list ({"errors":[{code,message}]}) is quoted when present.
 */
import { SkiffError, type ErrorKind } from "../errors.js";
import type { Endpoint } from "./transport.js";

export function kindForStatus(status: number): ErrorKind {
  if (status === 401) return "Unauthenticated";
  if (status === 403) return "PermissionDenied";
  if (status === 404) return "NotFound";
  if (status === 416) return "FailedPrecondition";
  if (status === 429 || status >= 500) return "Unavailable";
  if (status === 400) return "InvalidArgument";
  return "FailedPrecondition";
}

/** "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body, if any. */
export function describeErrorBody(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first === undefined) return undefined;
    return [first.code, first.message].filter(Boolean).join(": ");
  } catch {
    return undefined;
  }
}

export function httpError(
  operation: string,
  status: number,
  endpoint: Endpoint,
  bodyText: string,
): SkiffError {
  const detail = describeErrorBody(bodyText);
  const reason = detail ? `${detail} (HTTP ${status})` : `HTTP ${status}`;
  return new SkiffError(kindForStatus(status), `${operation}: ${endpoint.label}: ${reason}`);
}
