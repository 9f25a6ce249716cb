/**
 * Test clients for the streaming server: remotecommand and port-forward over SPDY
 * (the dial and the port-forward stream pair are the CLI's, in ../client/), and a raw
 * WebSocket session for the channel protocols. They collect what a user would see:
 * stdout, stderr, the status.
 */
import { WebSocket } from "ws";
import { spdyConnect } from "../client/spdy-dial.js";
import { openForwardStreams, streamText } from "../client/portforward.js";
import type { SpdyConnection, SpdyStream } from "../spdy/connection.js";
import type { Status } from "../status.js";

export { spdyConnect, type UpgradeFailure } from "../client/spdy-dial.js";

export interface CommandOutcome {
  stdout: string;
  stderr: string;
  /** Raw bytes of the error stream. */
  error: string;
  status?: Status;
}

export interface SpdyCommandOptions {
  protocol: string;
  stdin?: string | Buffer | "keep-open";
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  resize?: { width: number; height: number }[];
  flowControl?: boolean;
  /** Called with the open streams, before stdin is written (tests drive them). */
  onOpen?: (s: {
    stdin?: SpdyStream;
    stdout?: SpdyStream;
    resize?: SpdyStream;
    conn: SpdyConnection;
  }) => void;
}

export async function spdyCommand(url: string, o: SpdyCommandOptions): Promise<CommandOutcome> {
  const { conn, protocol } = await spdyConnect(url, [o.protocol], {
    flowControl: o.flowControl ?? true,
  });
  if (protocol !== o.protocol) throw new Error(`server chose ${protocol}`);
  const open = (type: string): Promise<SpdyStream> => conn.createStream([["streamType", type]]);
  const error = await open("error");
  error.end();
  const stdin = o.stdin !== undefined ? await open("stdin") : undefined;
  const stdout = o.stdout !== false ? await open("stdout") : undefined;
  if (stdout) stdout.end();
  const stderr = o.stderr && !o.tty ? await open("stderr") : undefined;
  if (stderr) stderr.end();
  const resize = o.tty && !/^(v2\.)?channel/.test(o.protocol) ? await open("resize") : undefined;
  const results = Promise.all([streamText(stdout), streamText(stderr), streamText(error)]);
  o.onOpen?.({
    conn,
    ...(stdin ? { stdin } : {}),
    ...(stdout ? { stdout } : {}),
    ...(resize ? { resize } : {}),
  });
  for (const size of o.resize ?? [])
    resize?.write(JSON.stringify({ Width: size.width, Height: size.height }) + "\n");
  if (stdin && o.stdin !== "keep-open") {
    stdin.on("error", () => undefined);
    stdin.end(o.stdin);
  }
  const [out, err, errText] = await results;
  conn.close(true);
  const outcome: CommandOutcome = { stdout: out, stderr: err, error: errText };
  if (/^v[45]\./.test(o.protocol) && errText) outcome.status = JSON.parse(errText) as Status;
  return outcome;
}

/** One forwarded connection over an open port-forward SPDY session. */
export async function spdyForward(
  conn: SpdyConnection,
  port: number,
  requestId: string,
  send: Buffer | string,
): Promise<{ data: string; error: string }> {
  const { data, error } = await openForwardStreams(conn, port, requestId);
  const results = Promise.all([streamText(data), streamText(error)]);
  data.end(send);
  const [d, e] = await results;
  return { data: d, error: e };
}

export interface WsOutcome {
  protocol: string;
  channels: Map<number, Buffer>;
  closeCode: number;
}

/** Open a WebSocket, send messages, gather channel output until the server closes. */
export function wsSession(
  url: string,
  protocols: string[],
  drive: (ws: WebSocket) => void,
  base64 = false,
): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), protocols);
    const channels = new Map<number, Buffer>();
    ws.on("open", () => drive(ws));
    ws.on("message", (raw: Buffer, isBinary) => {
      let ch: number;
      let data: Buffer;
      if (base64 && !isBinary) {
        const t = raw.toString();
        ch = t.charCodeAt(0) - 48;
        data = Buffer.from(t.slice(1), "base64");
      } else {
        ch = raw[0]!;
        data = raw.subarray(1);
      }
      channels.set(ch, Buffer.concat([channels.get(ch) ?? Buffer.alloc(0), data]));
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body }),
        ),
      );
    });
    ws.on("error", reject);
    ws.on("close", (code) => resolve({ protocol: ws.protocol, channels, closeCode: code }));
  });
}

export function wsFrame(channel: number, data: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);
}
