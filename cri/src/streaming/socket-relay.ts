/**
 * One forwarded TCP connection relayed to a port-forward data stream (a SPDY stream or
 * a WebSocket channel pair), both ways with half-close, with the streams' own
 * back-pressure (pipe) bounding what is buffered in between. Resolves when the
 * connection is over; it never rejects: a reset on either side ends the other.
 */
import type * as net from "node:net";
import type { Duplex } from "node:stream";

/**
 * Relay both ways with half-close; resolves when both directions have ended. When
 * the client half-closes first the pod side may take as long as it likes to answer;
 * when the pod side ends first the client gets a second to finish (as socat does),
 * since some clients (WebSocket port-forward) cannot half-close at all.
 */
export function relay(sock: net.Socket, stream: Duplex, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = (): void => {
      sock.destroy();
      finish();
    };
    signal.addEventListener("abort", onAbort);
    sock.on("error", () => {
      sock.destroy();
      if (!stream.destroyed) stream.destroy();
      finish();
    });
    stream.on("error", () => {
      sock.destroy();
      finish();
    });
    stream.on("close", () => {
      if (!stream.readableEnded || !stream.writableFinished) {
        sock.destroy();
        finish();
      }
    });
    stream.pipe(sock);
    sock.pipe(stream);
    let upDone = false;
    let downDone = false;
    const check = (): void => {
      if (upDone && downDone) {
        sock.destroy();
        finish();
      }
    };
    sock.once("finish", () => {
      upDone = true;
      check();
    });
    stream.once("finish", () => {
      downDone = true;
      check();
      if (!upDone) {
        setTimeout(() => {
          sock.destroy();
          finish();
        }, 1000).unref();
      }
    });
  });
}
