/**
 * The one wrapper around every RPC handler, for every service Skiff serves:
 * - refuses calls with UNAVAILABLE until start-up recovery is done (the gate);
 * - gives the handler a pino child logger carrying the RPC name and the ids in the request;
 * - logs each call's outcome and duration (debug on success, warn/error on failure);
 * - answers INVALID_ARGUMENT for a request body that did not decode (undecodable.ts);
 * - maps errors to gRPC codes through the one table in error-codes.ts; anything that is
 *   not a SkiffError becomes INTERNAL and is logged with its stack; the message sent
 *   is cut to maxDetails characters;
 * - answers UNIMPLEMENTED, through the same path, for every RPC that has no handler yet.
 */
import {
  status,
  type MethodDefinition,
  type ServerErrorResponse,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServerReadableStream,
  type sendUnaryData,
  Metadata,
} from "@grpc/grpc-js";
import type { Logger } from "../core/log.js";
import { SkiffError, unimplemented, unavailable } from "../core/errors.js";
import { noteRequest } from "../core/shim/launch.js";
import { grpcCodeOf } from "./error-codes.js";
import { UndecodableRequest } from "./undecodable.js";

export interface CallContext {
  log: Logger;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
/** `send` resolves when the message is handed to the transport (back-pressure). */
export type ServerStreamHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
  send: (message: Res) => Promise<void>,
) => Promise<void>;
export type ClientStreamHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  ctx: CallContext,
) => Promise<Res>;

// The handler tables are keyed by RPC name; their message types are checked in each
// handler file, where they are declared with the generated types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (...args: any[]) => unknown;
export type HandlerTable = Record<string, AnyHandler>;

export interface Gate {
  /** undefined when calls may proceed, else the reason they may not. */
  notReady(): string | undefined;
}

export interface InstrumentOptions {
  service: string;
  log: Logger;
  gate: Gate;
}

export function instrumentService(
  definition: ServiceDefinition,
  handlers: HandlerTable,
  options: InstrumentOptions,
): UntypedServiceImplementation {
  for (const name of Object.keys(handlers)) {
    if (!(name in definition)) throw new Error(`${options.service} has no RPC named ${name}`);
  }
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler: AnyHandler =
      handlers[name] ??
      (() => {
        throw unimplemented(`${options.service}/${name} is not implemented by skiff-cri yet`);
      });
    implementation[name] = wrap(`${options.service}/${name}`, method, handler, options);
  }
  return implementation;
}

function wrap(
  rpc: string,
  method: MethodDefinition<unknown, unknown>,
  handler: AnyHandler,
  options: InstrumentOptions,
): UntypedHandleCall {
  const begin = (
    request: unknown,
    cancelled: { on(event: "cancelled", fn: () => void): unknown },
  ) => {
    noteRequest(); // the launch pool refills in the gaps between requests
    const controller = new AbortController();
    cancelled.on("cancelled", () =>
      controller.abort(new SkiffError("DeadlineExceeded", "call cancelled")),
    );
    const log = options.log.child({ rpc, ...requestIds(request) });
    return { ctx: { log, signal: controller.signal }, started: process.hrtime.bigint() };
  };
  const refusal = (): ServerErrorResponse | undefined => {
    const reason = options.gate.notReady();
    return reason === undefined ? undefined : toStatus(unavailable(reason), options.log, rpc);
  };

  if (!method.requestStream && !method.responseStream) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const refused = refusal();
      if (refused) return callback(refused);
      const { ctx, started } = begin(call.request, call);
      run(() => handler(decoded(call.request), ctx)).then(
        (response) => {
          done(ctx.log, started);
          callback(null, response);
        },
        (err: unknown) => callback(failed(ctx.log, started, err)),
      );
    };
  }
  if (!method.requestStream && method.responseStream) {
    return (call: ServerWritableStream<unknown, unknown>) => {
      const refused = refusal();
      if (refused) return void call.emit("error", refused);
      const { ctx, started } = begin(call.request, call);
      const send = (message: unknown) =>
        new Promise<void>((resolve, reject) => {
          if (ctx.signal.aborted) return reject(ctx.signal.reason);
          call.write(message, (err?: Error | null) => (err ? reject(err) : resolve()));
        });
      run(() => handler(decoded(call.request), ctx, send)).then(
        () => {
          done(ctx.log, started);
          call.end();
        },
        (err: unknown) => void call.emit("error", failed(ctx.log, started, err)),
      );
    };
  }
  if (method.requestStream && !method.responseStream) {
    return (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const refused = refusal();
      if (refused) return callback(refused);
      const { ctx, started } = begin(undefined, call);
      run(() => handler(decodedStream(call as AsyncIterable<unknown>), ctx)).then(
        (response) => {
          done(ctx.log, started);
          callback(null, response);
        },
        (err: unknown) => callback(failed(ctx.log, started, err)),
      );
    };
  }
  throw new Error(`${rpc}: bidirectional streaming is not used by Skiff`);
}

async function run(fn: () => unknown): Promise<unknown> {
  return fn();
}

/** The request, or the InvalidArgument error of a body that did not decode. */
function decoded(request: unknown): unknown {
  if (request instanceof UndecodableRequest) throw request.error();
  return request;
}

async function* decodedStream(requests: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const request of requests) yield decoded(request);
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function done(log: Logger, started: bigint): void {
  log.debug({ ms: elapsedMs(started) }, "ok");
}

function failed(log: Logger, started: bigint, err: unknown): ServerErrorResponse {
  const statusError = toStatus(err, log, undefined);
  log.warn(
    { ms: elapsedMs(started), code: status[statusError.code ?? status.UNKNOWN] },
    statusError.details ?? "",
  );
  return statusError;
}

/**
 * The longest status message sent. It travels in an HTTP/2 trailer, percent-encoded; a
 * message quoting a client's multi-megabyte field would pass the client's header list
 * limit (a Node client refuses a 1 MiB one), and the client then drops the whole
 * connection, every other call on it included.
 */
export const maxDetails = 4096;

/**
 * The message as sent: at most maxDetails characters, and well-formed (grpc-js
 * percent-encodes it with encodeURI, which throws on a lone surrogate, such as one left
 * by a cut through a pair, and that throw would end the process).
 */
function clip(message: string): string {
  if (message.length <= maxDetails) return message.toWellFormed();
  const kept = message.slice(0, maxDetails).toWellFormed();
  return `${kept}… (${message.length - maxDetails} more characters)`;
}

/** Maps an error to a gRPC status; unknown errors are logged with their stack. */
export function toStatus(err: unknown, log: Logger, rpc: string | undefined): ServerErrorResponse {
  const metadata = new Metadata();
  if (err instanceof SkiffError) {
    const details = clip(err.message);
    return Object.assign(new Error(details), { code: grpcCodeOf[err.kind], details, metadata });
  }
  const message = err instanceof Error ? err.message : String(err);
  log.error({ err, rpc }, "internal error");
  const details = clip(`internal error: ${message}`);
  return Object.assign(new Error(details), { code: status.INTERNAL, details, metadata });
}

const idFields = ["pod_sandbox_id", "container_id", "image_id", "id"] as const;

/** The object ids a request carries, for the request's log lines. */
export function requestIds(request: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (typeof request !== "object" || request === null) return ids;
  const r = request as Record<string, unknown>;
  for (const field of idFields) {
    const value = r[field];
    if (typeof value === "string" && value !== "") ids[field] = value;
  }
  const image = r["image"];
  if (typeof image === "object" && image !== null) {
    const ref = (image as Record<string, unknown>)["image"];
    if (typeof ref === "string" && ref !== "") ids["image"] = ref;
  } else if (typeof image === "string" && image !== "") {
    ids["image"] = image;
  }
  const config = r["config"];
  if (typeof config === "object" && config !== null) {
    const metadata = (config as Record<string, unknown>)["metadata"];
    if (typeof metadata === "object" && metadata !== null) {
      const name = (metadata as Record<string, unknown>)["name"];
      if (typeof name === "string" && name !== "") ids["name"] = name;
    }
  }
  return ids;
}
