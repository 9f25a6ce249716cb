/**
 * Kubernetes port-forward over SPDY (portforward.k8s.io), as kubelet serves it: for
 * each forwarded connection the client opens an `error` stream and a `data` stream
 * sharing a `requestID` header (clients too old to send one get the kubelet fallback:
 * error stream id, data stream id - 2) and a `port` header. Once both arrived, the
 * backend relays the data stream to the port; a failure is written as text on the
 * error stream. Pairs left incomplete are dropped after the stream creation timeout.
 */
import type { Logger } from "../core/log.js";
import type { StreamBackend } from "./backend.js";
import type { SpdyConnection, SpdyStream } from "./spdy/connection.js";

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function servePortForwardSpdy(
  conn: SpdyConnection,
  podSandboxId: string,
  backend: StreamBackend,
  timeoutMs: number,
  log: Logger,
): (stream: SpdyStream) => void {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();
  conn.once("close", () => {
    abort.abort(new Error("client disconnected"));
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });

  const requestId = (stream: SpdyStream, type: string): string => {
    const id = stream.header("requestid");
    if (id) return id;
    return String(type === "error" ? stream.id : stream.id - 2);
  };

  return (stream: SpdyStream) => {
    stream.on("error", () => undefined);
    const type = stream.header("streamtype") ?? "";
    if (type !== "data" && type !== "error") {
      stream.reset();
      return;
    }
    const id = requestId(stream, type);
    let pair = pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(id);
        pair?.data?.reset();
        pair?.error?.reset();
      }, timeoutMs);
      timer.unref();
      pair = { timer };
      pairs.set(id, pair);
    }
    if (pair[type]) {
      stream.reset();
      return;
    }
    pair[type] = stream;
    if (!pair.data || !pair.error) return;
    clearTimeout(pair.timer);
    pairs.delete(id);
    void forward(pair.data, pair.error);
  };

  async function forward(data: SpdyStream, error: SpdyStream): Promise<void> {
    error.resume();
    const port = parsePort(data.header("port"));
    try {
      if (port === undefined) {
        throw new Error(`invalid port ${JSON.stringify(data.header("port") ?? "")}`);
      }
      await backend.portForward(podSandboxId, port, data, abort.signal);
      if (!data.writableEnded) data.end();
      if (!error.writableEnded) error.end();
    } catch (err) {
      const msg =
        `error forwarding port ${port ?? "?"} to pod ${podSandboxId}, uid : ` +
        `${(err as Error).message}`;
      log.debug({ pod_id: podSandboxId, port }, msg);
      if (!error.destroyed && !error.writableEnded) error.end(msg);
      if (!data.destroyed) data.reset();
    }
  }
}
