/**
 * Kubernetes remotecommand (exec and attach) on top of a set of client streams, as
 * kubelet's streaming library serves it. Transport specifics stay outside: SPDY gives
 * one stream per `streamType` header (error, stdin, stdout, stderr, resize), WebSocket
 * gives numbered channels (websocket.ts); both end up as a ClientStreams value.
 *
 * Protocol versions (X-Stream-Protocol-Version over SPDY):
 *   channel.k8s.io     v1: no resize; our side of stdin closed at once; text errors
 *   v2.channel.k8s.io  v2: no resize; text errors
 *   v3.channel.k8s.io  v3: adds the resize stream
 *   v4.channel.k8s.io  v4: JSON metav1.Status on the error stream (exit code)
 *   v5.channel.k8s.io  v5: v4 plus the WebSocket close signal (same as v4 on SPDY)
 */
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../core/log.js";
import type { ExecResult, StreamIO, TerminalSize } from "./backend.js";
import { ResizeDecoder } from "./resize.js";
import type { SpdyConnection, SpdyStream } from "./spdy/connection.js";
import {
  encodeStatus,
  exitCodeStatus,
  internalErrorStatus,
  successStatus,
  type Status,
} from "./status.js";

export const remoteCommandProtocols = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
] as const;

export function protocolVersion(protocol: string): number {
  const m = /^v(\d)\.channel\.k8s\.io$/.exec(protocol);
  return m ? Number(m[1]) : 1;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The client's streams for one exec or attach, whatever the transport. */
export interface ClientStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: Readable;
  /** Write the final status (already encoded for the protocol) and end the error stream. */
  writeStatus(status: Status): void;
  /** Flush and close everything on our side. */
  close(): void;
  /** Fires once when the client goes away before close(). */
  onClientGone(listener: () => void): void;
}

export type CommandRunner = (io: StreamIO) => Promise<ExecResult | void>;

/**
 * Run the backend against the client's streams and report the outcome: status on
 * the error stream, then a clean close. A client that goes away aborts the backend.
 */
export async function runRemoteCommand(
  streams: ClientStreams,
  opts: StreamOptions & { cmd?: string[]; kind: "exec" | "attach" },
  run: CommandRunner,
  log: Logger,
): Promise<void> {
  const abort = new AbortController();
  let finished = false;
  streams.onClientGone(() => {
    if (!finished) abort.abort(new Error("client disconnected"));
  });
  const resizeListeners: ((s: TerminalSize) => void)[] = [];
  const sizes: TerminalSize[] = [];
  if (streams.resize) {
    const decoder = new ResizeDecoder();
    streams.resize.on("data", (chunk: Buffer) => {
      for (const size of decoder.push(chunk)) {
        sizes.push(size);
        if (sizes.length > 1) sizes.shift();
        for (const l of resizeListeners) l(size);
      }
    });
    streams.resize.on("error", () => undefined);
  }
  const io: StreamIO = {
    tty: opts.tty,
    signal: abort.signal,
    onResize(listener) {
      resizeListeners.push(listener);
      for (const s of sizes) listener(s);
    },
  };
  if (streams.stdin) io.stdin = streams.stdin;
  if (streams.stdout) io.stdout = streams.stdout;
  if (streams.stderr) io.stderr = streams.stderr;

  let status: Status;
  try {
    const result = await run(io);
    if (result && result.exitCode !== 0) status = exitCodeStatus(opts.cmd ?? [], result.exitCode);
    else status = successStatus();
  } catch (err) {
    const what =
      opts.kind === "exec"
        ? "error executing command in container"
        : "error attaching to container";
    const message = `${what}: ${(err as Error).message}`;
    if (!abort.signal.aborted) log.warn({ err }, message);
    status = internalErrorStatus(message);
  }
  finished = true;
  if (abort.signal.aborted) {
    streams.close();
    return;
  }
  streams.writeStatus(status);
  streams.close();
}

/**
 * SPDY: wait for the streams the client must open (error, plus each requested stdio
 * stream, plus resize for tty from v3 on), replying to each as it arrives. Streams of
 * unknown type are reset and not counted.
 */
export function collectSpdyStreams(
  conn: SpdyConnection,
  queue: SpdyStreamQueue,
  protocol: string,
  opts: StreamOptions,
  timeoutMs: number,
): Promise<ClientStreams> {
  const version = protocolVersion(protocol);
  let expected = 1 + Number(opts.stdin) + Number(opts.stdout) + Number(opts.stderr);
  if (opts.tty && version >= 3) expected++;
  return new Promise((resolve, reject) => {
    const got: Partial<Record<string, SpdyStream>> = {};
    let count = 0;
    const timer = setTimeout(() => {
      queue.stop();
      reject(new Error("timed out waiting for client to create streams"));
    }, timeoutMs);
    timer.unref();
    queue.consume((stream) => {
      const type = stream.header("streamtype") ?? "";
      const allowed =
        type === "error" ||
        (type === "stdin" && opts.stdin) ||
        (type === "stdout" && opts.stdout) ||
        (type === "stderr" && opts.stderr) ||
        (type === "resize" && version >= 3);
      if (!allowed || got[type]) {
        stream.reset();
        return;
      }
      got[type] = stream;
      count++;
      if (count < expected) return;
      clearTimeout(timer);
      queue.stop();
      resolve(spdyClientStreams(conn, got, version));
    });
    conn.once("close", () => {
      clearTimeout(timer);
      reject(new Error("client closed the connection before creating its streams"));
    });
  });
}

function spdyClientStreams(
  conn: SpdyConnection,
  got: Partial<Record<string, SpdyStream>>,
  version: number,
): ClientStreams {
  const { stdin, stdout, stderr, resize, error } = got;
  if (stdin && version === 1) stdin.end();
  for (const s of [stdout, stderr, error]) {
    // Output-only streams: the client's half may stay open; ignore its data.
    s?.resume();
  }
  for (const s of Object.values(got)) s?.on("error", () => undefined);
  const out: ClientStreams = {
    writeStatus(status) {
      const bytes = encodeStatus(status, version >= 4);
      if (!error) return;
      if (bytes && !error.writableEnded) error.write(bytes);
    },
    close() {
      for (const s of [stdout, stderr, error]) if (s && !s.writableEnded) s.end();
      for (const s of [stdin, resize]) s?.reset();
      conn.close();
    },
    onClientGone(listener) {
      conn.once("close", listener);
    },
  };
  if (stdin) out.stdin = stdin;
  if (stdout) out.stdout = stdout;
  if (stderr) out.stderr = stderr;
  if (resize) out.resize = resize;
  return out;
}

/** Buffers the peer's new streams until a consumer takes them. */
export class SpdyStreamQueue {
  private readonly waiting: SpdyStream[] = [];
  private consumer: ((s: SpdyStream) => void) | undefined;
  private stopped = false;

  push = (stream: SpdyStream): void => {
    if (this.stopped) {
      stream.reset();
      return;
    }
    if (this.consumer) this.consumer(stream);
    else this.waiting.push(stream);
  };

  consume(fn: (s: SpdyStream) => void): void {
    this.consumer = fn;
    for (const s of this.waiting.splice(0)) fn(s);
  }

  stop(): void {
    this.stopped = true;
    this.consumer = undefined;
  }
}
