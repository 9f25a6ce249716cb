/**
 * The WebSocket forms of remotecommand and port-forward (`ws` package):
 *
 * remotecommand: every message is [channel byte][payload]; channels 0 stdin,
 * 1 stdout, 2 stderr, 3 error (status), 4 resize. Subprotocols v5/v4/v3/v2.channel.k8s.io
 * and channel.k8s.io are binary; v4.base64.channel.k8s.io and base64.channel.k8s.io
 * send text messages whose first character is the channel digit and whose payload is
 * base64. v5 adds the close signal: a client message [255, channel] ends that channel
 * (stdin EOF). v4 and v5 carry the JSON status. As kubelet does, the first writable
 * channel gets one empty message when the session opens.
 *
 * port-forward: `?ports=a,b` picks the ports; channel 2i is port i's data, 2i+1 its
 * error text; the first message on each channel is the port as 2 bytes little endian.
 *
 * SPDY tunnel: subprotocol `SPDY/3.1+portforward.k8s.io` (client-go's
 * NewSPDYOverWebsocketDialer, `crictl port-forward --transport websocket`) carries a
 * whole SPDY session as binary messages; the SPDY port-forward handler serves it.
 */
import { Duplex, Readable, Writable } from "node:stream";
import type { WebSocket } from "ws";
import type { Logger } from "../core/log.js";
import type { StreamBackend } from "./backend.js";
import type { ClientStreams, StreamOptions } from "./remotecommand.js";
import { encodeStatus } from "./status.js";

export const CLOSE_SIGNAL = 255;

export const wsRemoteCommandProtocols = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
  "base64.channel.k8s.io",
];

export const SPDY_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

export const wsPortForwardProtocols = [
  SPDY_TUNNEL_PROTOCOL,
  "v4.channel.k8s.io",
  "v4.base64.channel.k8s.io",
];

/** The first client protocol the server supports ("" when the client offered none). */
export function pickProtocol(offered: string[], supported: string[]): string | undefined {
  if (offered.length === 0) return "";
  return offered.find((p) => supported.includes(p));
}

function wsVersion(protocol: string): number {
  const m = /^v(\d)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** Encodes and decodes channel messages (binary, or base64 text for the base64 protocols). */
export class ChannelCodec {
  readonly base64: boolean;
  constructor(protocol: string) {
    this.base64 = protocol.includes("base64");
  }
  encode(channel: number, data: Buffer): Buffer | string {
    if (this.base64) return String.fromCharCode(48 + channel) + data.toString("base64");
    const out = Buffer.allocUnsafe(data.length + 1);
    out[0] = channel;
    data.copy(out, 1);
    return out;
  }
  decode(msg: Buffer, isBinary: boolean): { channel: number; data: Buffer } | undefined {
    if (msg.length === 0) return undefined;
    if (this.base64 && !isBinary) {
      const text = msg.toString("latin1");
      return { channel: text.charCodeAt(0) - 48, data: Buffer.from(text.slice(1), "base64") };
    }
    return { channel: msg[0]!, data: msg.subarray(1) };
  }
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  return Buffer.from(data as ArrayBuffer);
}

/** An inbound channel: a Readable that pauses the socket when its reader lags. */
function inbound(ws: WebSocket): Readable {
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      ws.resume();
    },
  });
}

/** An outbound channel: writes wait for the socket (back-pressure). */
function outbound(ws: WebSocket, codec: ChannelCodec, channel: number): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) {
        cb(new Error("websocket closed"));
        return;
      }
      ws.send(codec.encode(channel, chunk), { binary: !codec.base64 }, (err) => cb(err ?? null));
    },
  });
}

export function wsRemoteCommandStreams(
  ws: WebSocket,
  protocol: string,
  opts: StreamOptions,
): ClientStreams {
  const codec = new ChannelCodec(protocol);
  const version = wsVersion(protocol);
  const stdin = opts.stdin ? inbound(ws) : undefined;
  const resize = opts.tty ? inbound(ws) : undefined;
  const stdout = opts.stdout ? outbound(ws, codec, 1) : undefined;
  const stderr = opts.stderr ? outbound(ws, codec, 2) : undefined;
  const error = outbound(ws, codec, 3);
  let closing = false;
  const gone: (() => void)[] = [];

  ws.on("message", (raw, isBinary) => {
    const msg = toBuffer(raw);
    if (version >= 5 && isBinary && msg.length === 2 && msg[0] === CLOSE_SIGNAL) {
      if (msg[1] === 0) stdin?.push(null);
      if (msg[1] === 4) resize?.push(null);
      return;
    }
    const frame = codec.decode(msg, isBinary);
    if (!frame) return;
    const target = frame.channel === 0 ? stdin : frame.channel === 4 ? resize : undefined;
    if (!target || target.readableEnded) return;
    if (!target.push(frame.data)) ws.pause();
  });
  ws.on("close", () => {
    stdin?.push(null);
    resize?.push(null);
    if (!closing) for (const g of gone) g();
  });
  ws.on("error", () => undefined);
  for (const w of [stdout, stderr, error]) w?.on("error", () => undefined);

  const first = opts.stdout ? 1 : opts.stderr ? 2 : 3;
  ws.send(codec.encode(first, Buffer.alloc(0)), { binary: !codec.base64 });

  const out: ClientStreams = {
    writeStatus(status) {
      const bytes = encodeStatus(status, version >= 4);
      if (bytes) error.write(bytes);
    },
    close() {
      closing = true;
      const pending = [stdout, stderr, error].filter((w): w is Writable => w !== undefined);
      let left = pending.length;
      const done = (): void => {
        if (--left === 0 && ws.readyState === ws.OPEN) ws.close(1000);
      };
      for (const w of pending) {
        if (w.writableFinished || w.destroyed) done();
        else {
          w.once("finish", done);
          w.once("error", done);
          if (!w.writableEnded) w.end();
        }
      }
      setTimeout(() => ws.terminate(), 10_000).unref();
    },
    onClientGone(listener) {
      gone.push(listener);
    },
  };
  if (stdin) out.stdin = stdin;
  if (stdout) out.stdout = stdout;
  if (stderr) out.stderr = stderr;
  if (resize) out.resize = resize;
  return out;
}

export function parsePortsQuery(url: URL): number[] | string {
  const values = url.searchParams.getAll("ports");
  if (values.length === 0) return `query parameter "ports" is required`;
  const ports: number[] = [];
  for (const value of values) {
    if (value === "") return `query parameter "ports" cannot be empty`;
    for (const p of value.split(",")) {
      const n = /^\d{1,5}$/.test(p) ? Number(p) : NaN;
      if (!(n >= 1 && n <= 65535)) return `unable to parse "${value}" as a port`;
      ports.push(n);
    }
  }
  return ports;
}

/** Serve port-forward's channel protocol on an open WebSocket. */
export function serveWsPortForward(
  ws: WebSocket,
  protocol: string,
  podSandboxId: string,
  ports: number[],
  backend: StreamBackend,
  log: Logger,
): void {
  const codec = new ChannelCodec(protocol);
  const abort = new AbortController();
  const data: Duplex[] = [];
  const errors: Writable[] = [];
  let closing = false;
  ports.forEach((port, i) => {
    const send = (ch: number, chunk: Buffer, cb: (e?: Error | null) => void): void => {
      if (ws.readyState !== ws.OPEN) return cb(new Error("websocket closed"));
      ws.send(codec.encode(ch, chunk), { binary: !codec.base64 }, (e) => cb(e ?? null));
    };
    data.push(
      new Duplex({
        allowHalfOpen: true,
        highWaterMark: 64 * 1024,
        read() {
          ws.resume();
        },
        write(chunk: Buffer, _e, cb) {
          send(2 * i, chunk, cb);
        },
        final(cb) {
          cb();
        },
      }),
    );
    errors.push(outbound(ws, codec, 2 * i + 1));
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    ws.send(codec.encode(2 * i, portBytes), { binary: !codec.base64 });
    ws.send(codec.encode(2 * i + 1, portBytes), { binary: !codec.base64 });
  });
  ws.on("message", (raw, isBinary) => {
    const frame = codec.decode(toBuffer(raw), isBinary);
    if (!frame || frame.channel % 2 !== 0) return;
    const d = data[frame.channel / 2];
    if (!d || d.readableEnded) return;
    if (!d.push(frame.data)) ws.pause();
  });
  ws.on("close", () => {
    for (const d of data) if (!d.readableEnded) d.push(null);
    if (!closing) abort.abort(new Error("client disconnected"));
  });
  ws.on("error", () => undefined);
  void Promise.all(
    ports.map(async (port, i) => {
      const d = data[i]!;
      const e = errors[i]!;
      d.on("error", () => undefined);
      e.on("error", () => undefined);
      try {
        await backend.portForward(podSandboxId, port, d, abort.signal);
      } catch (err) {
        const msg = `error forwarding port ${port} to pod ${podSandboxId}, uid : ${(err as Error).message}`;
        log.debug({ pod_id: podSandboxId, port }, msg);
        await new Promise<void>((resolve) => e.write(Buffer.from(msg), () => resolve()));
      }
    }),
  ).then(() => {
    closing = true;
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}

/** A byte stream over binary WebSocket messages (for the SPDY tunnel). */
export function wsByteStream(ws: WebSocket): Duplex {
  const d = new Duplex({
    allowHalfOpen: false,
    highWaterMark: 256 * 1024,
    read() {
      ws.resume();
    },
    write(chunk: Buffer, _e, cb) {
      if (ws.readyState !== ws.OPEN) return cb(new Error("websocket closed"));
      ws.send(chunk, { binary: true }, (err) => cb(err ?? null));
    },
    final(cb) {
      if (ws.readyState === ws.OPEN) ws.close(1000);
      cb();
    },
    destroy(err, cb) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      cb(err);
    },
  });
  ws.on("message", (raw) => {
    if (!d.push(toBuffer(raw))) ws.pause();
  });
  ws.on("close", () => {
    d.push(null);
    d.destroy();
  });
  ws.on("error", (err) => d.destroy(err));
  return d;
}
