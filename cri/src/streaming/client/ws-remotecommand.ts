/**
 * The client side of remotecommand (exec, attach) over WebSocket, as kubectl's
 * WebSocket executor speaks it (the server side is websocket.ts): one binary message per
 * write, [channel][payload], channels 0 stdin, 1 stdout, 2 stderr, 3 error (the JSON
 * metav1.Status from v4 on), 4 resize (`{"Width":W,"Height":H}`). v5 adds the close
 * signal [255, channel]: the client ends stdin with [255, 0], which the process sees as
 * EOF. v4 has no way to end stdin, so it stays open until the session ends.
 *
 * Invariants: output is written in the order it arrived, and reading from the socket
 * pauses while stdout or stderr is full; stdin is read one message ahead at most.
 */
import type { Readable, Writable } from "node:stream";
import { WebSocket } from "ws";
import type { TerminalSize } from "../backend.js";
import type { Status } from "../status.js";
import { CLOSE_SIGNAL, ChannelCodec } from "../websocket.js";

export const clientRemoteCommandProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface RemoteCommandIO {
  /** Relayed on channel 0; its end closes the remote stdin (v5). */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

export interface RemoteCommandOutcome {
  /** The status from the error channel (v4 and v5), when the server sent one. */
  status?: Status;
  /** Raw bytes of the error channel (a text message before v4). */
  error: string;
  closeCode: number;
}

export interface RemoteCommandSession {
  protocol: string;
  /** Send a terminal size on the resize channel. */
  resize(size: TerminalSize): void;
  /** Leave: close the connection now (an exec is ended by the server; an attach is not). */
  close(): void;
  /** Settles when the connection has closed. */
  done: Promise<RemoteCommandOutcome>;
}

/** An HTTP answer instead of the upgrade, as an Error with its status and body. */
export class StreamUpgradeError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(body.trim() || `the streaming server answered HTTP ${status}`);
  }
}

/** Connect to an exec or attach URL; resolves once the WebSocket is open. */
export function wsRemoteCommand(
  url: string,
  io: RemoteCommandIO,
  protocols: string[] = clientRemoteCommandProtocols,
): Promise<RemoteCommandSession> {
  const ws = new WebSocket(url.replace(/^http/, "ws"), protocols, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(new StreamUpgradeError(res.statusCode ?? 0, body)));
      res.on("error", reject);
    });
    ws.once("error", reject);
    ws.once("open", () => {
      ws.off("error", reject);
      resolve(session(ws, io));
    });
  });
}

function session(ws: WebSocket, io: RemoteCommandIO): RemoteCommandSession {
  const protocol = ws.protocol;
  const codec = new ChannelCodec(protocol);
  const send = (channel: number, data: Buffer, cb?: (err?: Error) => void): void => {
    if (ws.readyState !== ws.OPEN) return cb?.(new Error("websocket closed"));
    ws.send(codec.encode(channel, data), { binary: !codec.base64 }, cb);
  };
  const errorParts: Buffer[] = [];
  let waiting = false;

  ws.on("message", (raw: Buffer, isBinary) => {
    const frame = codec.decode(raw, isBinary);
    if (!frame || frame.data.length === 0) return;
    const target = frame.channel === 1 ? io.stdout : frame.channel === 2 ? io.stderr : undefined;
    if (frame.channel === 3) errorParts.push(Buffer.from(frame.data));
    else if (target && !target.write(frame.data) && !waiting) {
      waiting = true;
      ws.pause();
      target.once("drain", () => {
        waiting = false;
        ws.resume();
      });
    }
  });
  ws.on("error", () => undefined);

  const stdin = io.stdin;
  const onData = (chunk: Buffer): void => {
    stdin?.pause();
    send(0, chunk, () => stdin?.resume());
  };
  const onEnd = (): void => {
    if (protocol.startsWith("v5.")) send(CLOSE_SIGNAL, Buffer.from([0]));
  };
  stdin?.on("data", onData);
  stdin?.once("end", onEnd);

  const done = new Promise<RemoteCommandOutcome>((resolve) => {
    ws.once("close", (closeCode) => {
      stdin?.off("data", onData);
      stdin?.off("end", onEnd);
      const error = Buffer.concat(errorParts).toString();
      const outcome: RemoteCommandOutcome = { error, closeCode };
      if (/^v[45]\./.test(protocol) && error !== "") {
        try {
          outcome.status = JSON.parse(error) as Status;
        } catch {
          // not a status: left as text in `error`
        }
      }
      resolve(outcome);
    });
  });

  return {
    protocol,
    resize: (size) =>
      send(4, Buffer.from(JSON.stringify({ Width: size.width, Height: size.height }))),
    close: () => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      setTimeout(() => ws.terminate(), 2000).unref();
    },
    done,
  };
}
