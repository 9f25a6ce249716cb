/**
 * Skiff's streaming server: the CRI Exec, Attach and PortForward RPCs call getExec,
 * getAttach and getPortForward, which validate the request, store it under a
 * single-use token (one minute) and return `http[s]://<address>/<kind>/<token>`.
 * The client then connects to that URL and upgrades to SPDY/3.1 (remotecommand or
 * portforward.k8s.io, negotiated through X-Stream-Protocol-Version) or to a
 * WebSocket (see websocket.ts). Unknown, used or expired tokens get 404 and nothing
 * starts. Upgraded sessions are capped (`maxConnections`); one over the cap gets 503.
 *
 *   client ──HTTP upgrade──► token ─► SPDY session ─► remotecommand / portforward
 *                                  └► WebSocket    ─┘        │
 *                                                           StreamBackend
 */
import type * as Http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { http } from "../core/host/builtins.js";
import { WebSocketServer, type WebSocket } from "ws";
import { SkiffError } from "../core/errors.js";
import { silentLogger, type Logger } from "../core/log.js";
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamBackend } from "./backend.js";
import { servePortForwardSpdy } from "./portforward.js";
import {
  collectSpdyStreams,
  remoteCommandProtocols,
  runRemoteCommand,
  SpdyStreamQueue,
  type StreamOptions,
} from "./remotecommand.js";
import { SpdyConnection } from "./spdy/connection.js";
import {
  SPDY_TUNNEL_PROTOCOL,
  parsePortsQuery,
  pickProtocol,
  serveWsPortForward,
  wsByteStream,
  wsPortForwardProtocols,
  wsRemoteCommandProtocols,
  wsRemoteCommandStreams,
} from "./websocket.js";
import { TokenCache } from "./token-cache.js";

export const portForwardProtocols = ["portforward.k8s.io"] as const;

export interface StreamingServerOptions {
  backend: StreamBackend;
  /** `host:port`, `[v6]:port`, `host` or `:port`; default 127.0.0.1 with a free port. */
  address?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  tokenTtlMs?: number;
  maxInFlight?: number;
  maxConnections?: number;
  streamCreationTimeoutMs?: number;
  streamIdleTimeoutMs?: number;
  logger?: Logger;
}

type Kind = "exec" | "attach" | "portforward";
type Pending =
  | { kind: "exec"; req: ExecRequest }
  | { kind: "attach"; req: AttachRequest }
  | { kind: "portforward"; req: PortForwardRequest };

export function parseStreamAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(address.trim());
  if (!m)
    throw new SkiffError("InvalidArgument", `invalid stream address ${JSON.stringify(address)}`);
  const host = m[1] ?? (m[2] || "127.0.0.1");
  const port = m[3] === undefined ? 0 : Number(m[3]);
  if (port > 65535) throw new SkiffError("InvalidArgument", `invalid port in ${address}`);
  return { host, port };
}

function validateStdio(req: {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}): void {
  if (req.tty && req.stderr) {
    throw new SkiffError("InvalidArgument", "tty and stderr cannot both be true");
  }
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw new SkiffError("InvalidArgument", "one of stdin, stdout, or stderr must be set");
  }
}

export class StreamingServer {
  private readonly server: Http.Server | https.Server;
  private readonly wss: WebSocketServer;
  private readonly tokens: TokenCache<Pending>;
  private readonly log: Logger;
  private readonly sockets = new Set<Duplex>();
  private active = 0;
  private readonly chosenProtocol = new WeakMap<Http.IncomingMessage, string>();
  private baseUrl = "";

  constructor(private readonly opts: StreamingServerOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: "streaming" });
    this.tokens = new TokenCache(opts.tokenTtlMs ?? 60_000, opts.maxInFlight ?? 1000);
    const handler = (req: Http.IncomingMessage, res: Http.ServerResponse): void =>
      this.onRequest(req, res);
    this.server = opts.tls
      ? https.createServer({ ...opts.tls }, handler)
      : http.createServer(handler);
    this.server.headersTimeout = 15_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxConnections = (opts.maxConnections ?? 1000) * 2;
    this.server.on("upgrade", (req: Http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
    this.server.on("clientError", (_err, socket: Duplex) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 16 * 1024 * 1024,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => {
        const chosen = this.chosenProtocol.get(req);
        return chosen ? chosen : false;
      },
    });
  }

  async start(): Promise<void> {
    const { host, port } = parseStreamAddress(this.opts.address ?? "127.0.0.1:0");
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const shown =
      host === "0.0.0.0"
        ? "127.0.0.1"
        : host === "::"
          ? "[::1]"
          : host.includes(":")
            ? `[${host}]`
            : host;
    this.baseUrl = `${this.opts.tls ? "https" : "http"}://${shown}:${addr.port}`;
    this.log.info({ url: this.baseUrl }, "streaming server listening");
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url(): string {
    return this.baseUrl;
  }

  /** Upgraded sessions now open. */
  get activeSessions(): number {
    return this.active;
  }

  getExec(req: ExecRequest): string {
    if (!req.containerId) throw new SkiffError("InvalidArgument", "missing required container_id");
    if (req.cmd.length === 0) throw new SkiffError("InvalidArgument", "cmd must not be empty");
    validateStdio(req);
    return (
      this.url + "/exec/" + this.tokens.insert({ kind: "exec", req: { ...req, cmd: [...req.cmd] } })
    );
  }

  getAttach(req: AttachRequest): string {
    if (!req.containerId) throw new SkiffError("InvalidArgument", "missing required container_id");
    validateStdio(req);
    return this.url + "/attach/" + this.tokens.insert({ kind: "attach", req: { ...req } });
  }

  getPortForward(req: PortForwardRequest): string {
    if (!req.podSandboxId)
      throw new SkiffError("InvalidArgument", "missing required pod_sandbox_id");
    return (
      this.url +
      "/portforward/" +
      this.tokens.insert({ kind: "portforward", req: { ...req, ports: [...req.ports] } })
    );
  }

  // ---- HTTP ----

  private route(req: Http.IncomingMessage): { kind: Kind; token: string; url: URL } | undefined {
    const url = new URL(req.url ?? "/", "http://streaming");
    const m = /^\/(exec|attach|portforward)\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== "GET" && req.method !== "POST")) return undefined;
    return { kind: m[1] as Kind, token: m[2]!, url };
  }

  private take(kind: Kind, token: string): Pending | undefined {
    const pending = this.tokens.consume(token);
    if (!pending || pending.kind !== kind) return undefined;
    return pending;
  }

  private onRequest(req: Http.IncomingMessage, res: Http.ServerResponse): void {
    const r = this.route(req);
    const pending = r && this.take(r.kind, r.token);
    if (!pending) {
      res
        .writeHead(404, { "Content-Type": "text/plain; charset=utf-8" })
        .end("404 page not found\n");
      return;
    }
    res
      .writeHead(400, { "Content-Type": "text/plain; charset=utf-8" })
      .end("unable to upgrade: missing upgrade headers in request\n");
  }

  private reject(
    socket: Duplex,
    code: number,
    text: string,
    headers: Record<string, string> = {},
  ): void {
    const reason = http.STATUS_CODES[code] ?? "Error";
    const body = text + "\n";
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.end(
      `HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private onUpgrade(req: Http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const r = this.route(req);
    if (!r) return this.reject(socket, 404, "404 page not found");
    const limit = this.opts.maxConnections ?? 1000;
    if (this.active >= limit) {
      this.log.warn({ limit }, "streaming connection refused: limit reached");
      return this.reject(socket, 503, `too many streaming connections (limit ${limit})`, {
        "Retry-After": "1",
      });
    }
    const pending = this.take(r.kind, r.token);
    if (!pending) return this.reject(socket, 404, "404 page not found");

    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    if (upgrade === "websocket") return this.upgradeWebSocket(req, socket, head, pending, r.url);

    const offered = (req.headers["x-stream-protocol-version"] ?? "")
      .toString()
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const supported: readonly string[] =
      pending.kind === "portforward" ? portForwardProtocols : remoteCommandProtocols;
    if (offered.length === 0) {
      return this.reject(socket, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
    }
    const protocol = offered.find((p) => supported.includes(p));
    if (!protocol) {
      return this.reject(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], ` +
          `server accepts [${supported.join(" ")}]`,
        { "X-Accepted-Stream-Protocol-Versions": supported.join(", ") },
      );
    }
    if (upgrade !== "spdy/3.1") {
      return this.reject(
        socket,
        400,
        `unable to upgrade: protocol ${req.headers.upgrade ?? ""} is not supported`,
      );
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    this.serveSpdy(socket, pending, protocol);
  }

  private session(onEnd: () => void): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      onEnd();
    };
  }

  private serveSpdy(socket: Duplex, pending: Pending, protocol: string): void {
    const end = this.session(() => undefined);
    const idle = this.opts.streamIdleTimeoutMs ?? 4 * 3600_000;
    const timeout = this.opts.streamCreationTimeoutMs ?? 30_000;
    if (pending.kind === "portforward") {
      this.servePortForward(socket, pending.req.podSandboxId).once("close", end);
      return;
    }
    const queue = new SpdyStreamQueue();
    const conn = new SpdyConnection(socket, {
      role: "server",
      idleTimeoutMs: idle,
      maxStreams: 16,
      onStream: queue.push,
    });
    conn.once("close", end);
    conn.on("protocolError", (err: Error) =>
      this.log.warn({ err: err.message }, "SPDY protocol error"),
    );
    const opts: StreamOptions = pending.req;
    collectSpdyStreams(conn, queue, protocol, opts, timeout).then(
      (streams) => this.runCommand(pending, streams),
      (err: Error) => {
        this.log.warn({ err: err.message }, "streaming session failed");
        conn.destroy();
      },
    );
  }

  /** portforward.k8s.io over a byte stream (an upgraded socket or the WebSocket tunnel). */
  private servePortForward(bytes: Duplex, podSandboxId: string): SpdyConnection {
    const queue = new SpdyStreamQueue();
    const conn = new SpdyConnection(bytes, {
      role: "server",
      idleTimeoutMs: this.opts.streamIdleTimeoutMs ?? 4 * 3600_000,
      maxStreams: 1024,
      onStream: queue.push,
    });
    conn.on("protocolError", (err: Error) =>
      this.log.warn({ err: err.message }, "SPDY protocol error"),
    );
    queue.consume(
      servePortForwardSpdy(
        conn,
        podSandboxId,
        this.opts.backend,
        this.opts.streamCreationTimeoutMs ?? 30_000,
        this.log,
      ),
    );
    return conn;
  }

  private runCommand(pending: Pending, streams: import("./remotecommand.js").ClientStreams): void {
    const backend = this.opts.backend;
    if (pending.kind === "exec") {
      const req = pending.req;
      void runRemoteCommand(
        streams,
        { ...req, kind: "exec" },
        (io) => backend.exec(req, io),
        this.log,
      );
    } else if (pending.kind === "attach") {
      const req = pending.req;
      void runRemoteCommand(
        streams,
        { ...req, kind: "attach" },
        (io) => backend.attach(req, io),
        this.log,
      );
    }
  }

  private upgradeWebSocket(
    req: Http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    pending: Pending,
    url: URL,
  ): void {
    const offered = (req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const supported =
      pending.kind === "portforward" ? wsPortForwardProtocols : wsRemoteCommandProtocols;
    const protocol = pickProtocol(offered, supported);
    if (protocol === undefined) {
      return this.reject(
        socket,
        403,
        `requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${supported.join(" ")}]`,
      );
    }
    let ports: number[] = [];
    if (pending.kind === "portforward" && protocol !== SPDY_TUNNEL_PROTOCOL) {
      const parsed = parsePortsQuery(url);
      if (typeof parsed === "string") return this.reject(socket, 400, parsed);
      ports = parsed;
    }
    this.chosenProtocol.set(req, protocol);
    // ws validates offered subprotocols as RFC 7230 tokens, which client-go's
    // "SPDY/3.1+portforward.k8s.io" is not; the choice is made above, so hand ws a
    // placeholder token and answer with the real name from handleProtocols.
    if (protocol === "") delete req.headers["sec-websocket-protocol"];
    else req.headers["sec-websocket-protocol"] = "negotiated";
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const end = this.session(() => undefined);
      ws.once("close", end);
      if (pending.kind === "portforward") {
        if (protocol === SPDY_TUNNEL_PROTOCOL) {
          this.servePortForward(wsByteStream(ws), pending.req.podSandboxId);
        } else {
          serveWsPortForward(
            ws,
            protocol,
            pending.req.podSandboxId,
            ports,
            this.opts.backend,
            this.log,
          );
        }
        return;
      }
      const streams = wsRemoteCommandStreams(ws, protocol, pending.req);
      this.runCommand(pending, streams);
    });
  }
}
