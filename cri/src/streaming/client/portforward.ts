/**
 * The client side of portforward.k8s.io over an open SPDY session, as kubectl does it:
 * each forwarded connection is a pair of streams, `error` then `data`, sharing the
 * `port` and `requestID` headers. The client writes nothing on the error stream (it
 * ends its half at once); the server writes a text message there when it cannot reach
 * the port. Ending a direction of the data stream is a TCP half-close on the other side.
 */
import type { Duplex } from "node:stream";
import type { SpdyConnection, SpdyStream } from "../spdy/connection.js";

export const portForwardProtocol = "portforward.k8s.io";

export async function openForwardStreams(
  conn: SpdyConnection,
  port: number,
  requestId: string,
): Promise<{ data: SpdyStream; error: SpdyStream }> {
  const headers = (type: string): [string, string][] => [
    ["streamType", type],
    ["port", String(port)],
    ["requestID", requestId],
  ];
  const error = await conn.createStream(headers("error"));
  error.on("error", () => undefined);
  error.end();
  const data = await conn.createStream(headers("data"));
  data.on("error", () => undefined);
  return { data, error };
}

/** All of a stream's bytes as text, once it ends, closes or fails. */
export function streamText(stream: Duplex | undefined): Promise<string> {
  if (!stream) return Promise.resolve("");
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(parts).toString());
    stream.on("data", (c: Buffer) => parts.push(c));
    stream.once("end", done);
    stream.once("close", done);
    stream.once("error", done);
  });
}

/**
 * Relays `local` (a socket made with allowHalfOpen) to `port` in the pod over a new
 * stream pair until both directions have ended or either side fails. Resolves with
 * the server's error text ("" when the forward worked).
 */
export async function forwardSocket(
  conn: SpdyConnection,
  port: number,
  requestId: string,
  local: Duplex,
): Promise<string> {
  local.on("error", () => undefined);
  let streams;
  try {
    streams = await openForwardStreams(conn, port, requestId);
  } catch (err) {
    local.destroy();
    return `cannot open a stream to port ${port}: ${(err as Error).message}`;
  }
  const { data, error } = streams;
  const errorText = streamText(error);
  local.pipe(data);
  data.pipe(local);
  const closed = (s: Duplex): Promise<void> =>
    s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once("close", () => resolve()));
  // A failure on one side (reset, connection error) aborts the other.
  data.once("close", () => {
    if (!(data.readableEnded && data.writableFinished)) local.destroy();
  });
  local.once("close", () => {
    if (!(local.readableEnded && local.writableFinished)) data.reset();
  });
  await Promise.all([closed(local), closed(data)]);
  return (await errorText).trim();
}
