/**
 * Skiff's one error taxonomy. Services throw SkiffError with a kind; core throws
 * SystemError (a SkiffError carrying the operation, the path and the errno). Only the
 * gRPC instrument wrapper turns kinds into wire codes (grpc/error-codes.ts); anything
 * that is not a SkiffError is an Internal error and is logged with its stack.
 */

export const errorKinds = [
  "NotFound",
  "AlreadyExists",
  "InvalidArgument",
  "FailedPrecondition",
  "Unavailable",
  "ResourceExhausted",
  "DeadlineExceeded",
  "Unimplemented",
  "Unauthenticated",
  "PermissionDenied",
  "DataLoss",
  "Internal",
] as const;

export type ErrorKind = (typeof errorKinds)[number];

export class SkiffError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SkiffError";
    this.kind = kind;
  }
}

/** A failed system call or file operation: `op path: code (message)`. */
export class SystemError extends SkiffError {
  readonly op: string;
  readonly path: string;
  readonly code: string;

  constructor(op: string, path: string, cause: unknown, kind: ErrorKind = "Internal") {
    const code = errnoCode(cause) ?? "EUNKNOWN";
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(kind, `${op} ${path}: ${detail}`, { cause });
    this.name = "SystemError";
    this.op = op;
    this.path = path;
    this.code = code;
  }
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

export const notFound = (message: string): SkiffError => new SkiffError("NotFound", message);
export const alreadyExists = (message: string): SkiffError =>
  new SkiffError("AlreadyExists", message);
export const invalidArgument = (message: string): SkiffError =>
  new SkiffError("InvalidArgument", message);
export const failedPrecondition = (message: string): SkiffError =>
  new SkiffError("FailedPrecondition", message);
export const unimplemented = (message: string): SkiffError =>
  new SkiffError("Unimplemented", message);
export const unavailable = (message: string): SkiffError => new SkiffError("Unavailable", message);
