/**
 * The one table from Skiff's error kinds to gRPC status codes. Only the instrument
 * wrapper uses it.
 */
import { status } from "@grpc/grpc-js";
import type { ErrorKind } from "../core/errors.js";

export const grpcCodeOf: Readonly<Record<ErrorKind, status>> = {
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  InvalidArgument: status.INVALID_ARGUMENT,
  FailedPrecondition: status.FAILED_PRECONDITION,
  Unavailable: status.UNAVAILABLE,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Unimplemented: status.UNIMPLEMENTED,
  Unauthenticated: status.UNAUTHENTICATED,
  PermissionDenied: status.PERMISSION_DENIED,
  DataLoss: status.DATA_LOSS,
  Internal: status.INTERNAL,
};
