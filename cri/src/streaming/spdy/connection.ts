/**
 * A SPDY/3.1 session over one byte stream (a hijacked HTTP socket or a WebSocket
 * tunnel), for both roles: the server accepts peer streams (odd ids), the client opens
 * them. Each stream is a Node Duplex with half-close (end() sends FIN).
 *
 * Invariants:
 * - a peer stream gets its SYN_REPLY before any DATA we send on it;
 * - memory is bounded: a stream whose unread input passes `maxBufferedPerStream`
 *   pauses the socket until it is read (TCP back-pressure reaches the peer), and
 *   writes wait for the socket's 'drain';
 * - flow-control windows (64 KiB default, per stream and per connection) are
 *   enforced in both directions once the peer shows it speaks SPDY/3.1 flow control
 *   (it sent SETTINGS or WINDOW_UPDATE). Go's spdystream, which kubelet, crictl and
 *   kubectl use, never does, and it relies on TCP back-pressure instead.
 */
import { Duplex } from "node:stream";
import { EventEmitter } from "node:events";
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameParser,
  FrameType,
  HeaderDecoder,
  HeaderEncoder,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SpdyProtocolError,
  encodeControl,
  encodeDataHeader,
  encodeGoAway,
  encodePing,
  encodeRst,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  parseSettings,
  type ControlFrame,
  type DataFrame,
  type HeaderList,
} from "./frames.js";

/** What the connection's socket may hold unsent before frames wait for its drain. */
const maxSocketBuffer = 1024 * 1024;

export interface SpdyConnectionOptions {
  role: "server" | "client";
  /** Called for each stream the peer opens (after our SYN_REPLY is queued). */
  onStream?: (stream: SpdyStream) => void;
  /** Peer streams open at once; more are refused with RST_STREAM REFUSED_STREAM. */
  maxStreams?: number;
  maxBufferedPerStream?: number;
  /** Close the connection after this long without frames in either direction (0: never). */
  idleTimeoutMs?: number;
  /** Announce SETTINGS and use SPDY/3.1 flow control from the start (test clients). */
  announceFlowControl?: boolean;
  maxDataFrame?: number;
  /** After close(), streams the peer keeps open are cut after this long. */
  closeTimeoutMs?: number;
}

interface PendingWrite {
  data: Buffer;
  fin: boolean;
  cb: (err?: Error | null) => void;
}

export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: HeaderList;
  replyHeaders: HeaderList = [];
  /** Set once the peer has sent FIN or RST (no more input). */
  remoteClosed = false;
  localClosed = false;
  sendWindow: number;
  recvWindow = DEFAULT_WINDOW;
  pendingAck = 0;
  readonly pending: PendingWrite[] = [];
  readWaiting = false;

  constructor(
    private readonly conn: SpdyConnection,
    id: number,
    headers: HeaderList,
    sendWindow: number,
  ) {
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
  }

  header(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.headers.find(([n]) => n === key)?.[1];
  }

  override _read(): void {
    this.readWaiting = true;
    this.conn.onStreamRead(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.conn.queueData(this, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.conn.queueData(this, Buffer.alloc(0), true, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.conn.onStreamDestroyed(this);
    cb(err);
  }

  /** Abort the stream in both directions (RST_STREAM CANCEL). */
  reset(status: number = RstStatus.Cancel): void {
    this.conn.resetStream(this, status);
  }
}

export class SpdyConnection extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly encoder = new HeaderEncoder();
  private readonly decoder = new HeaderDecoder();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly replyWaiters = new Map<
    number,
    { resolve: (s: SpdyStream) => void; reject: (e: Error) => void }
  >();
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvPendingAck = 0;
  private flowControl: boolean;
  private goneAway = false;
  private closed = false;
  private socketPausedBy = new Set<number>();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly pings = new Map<number, () => void>();
  private waitingDrain = false;
  private readonly maxBuffered: number;
  private readonly maxDataFrame: number;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    super();
    this.nextStreamId = opts.role === "client" ? 1 : 2;
    this.nextPingId = opts.role === "client" ? 1 : 2;
    this.flowControl = opts.announceFlowControl === true;
    this.maxBuffered = opts.maxBufferedPerStream ?? 1024 * 1024;
    this.maxDataFrame = opts.maxDataFrame ?? 128 * 1024;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.shutdown());
    socket.on("close", () => this.shutdown());
    socket.on("error", (err: Error) => this.shutdown(err));
    socket.on("drain", () => {
      this.waitingDrain = false;
      this.flushAll();
    });
    if (opts.announceFlowControl) {
      this.send(encodeSettings([[SETTINGS_INITIAL_WINDOW_SIZE, DEFAULT_WINDOW]]));
    }
    this.touch();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Client role: open a stream and wait for its SYN_REPLY. */
  createStream(headers: HeaderList, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.closed || this.goneAway) {
      return Promise.reject(new Error("spdy connection is closed"));
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers, this.peerInitialWindow);
    this.streams.set(id, stream);
    const block = this.encoder.encode(headers);
    this.send(encodeSynStream(id, opts.fin ? FLAG_FIN : 0, block));
    if (opts.fin) stream.localClosed = true;
    return new Promise((resolve, reject) => {
      this.replyWaiters.set(id, { resolve, reject });
    });
  }

  ping(): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    const start = process.hrtime.bigint();
    this.send(encodePing(id));
    return new Promise((resolve) => {
      this.pings.set(id, () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
    });
  }

  /** Send GOAWAY and close the socket once every stream has ended (or at once). */
  close(immediately = false): void {
    if (!this.goneAway && !this.closed) {
      this.goneAway = true;
      this.send(encodeGoAway(this.lastPeerStreamId, 0));
    }
    if (immediately || this.streams.size === 0) this.endSocket();
    else setTimeout(() => this.destroy(), this.opts.closeTimeoutMs ?? 10_000).unref();
  }

  /** Abort everything now. */
  destroy(err?: Error): void {
    this.shutdown(err);
    this.socket.destroy();
  }

  // ---- inbound ----

  private onData(chunk: Buffer): void {
    this.touch();
    let frames;
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.protocolError(err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      try {
        if (frame.control) this.onControl(frame);
        else this.onDataFrame(frame);
      } catch (err) {
        this.protocolError(err as Error);
        return;
      }
    }
  }

  private onControl(frame: ControlFrame): void {
    const d = frame.data;
    switch (frame.type) {
      case FrameType.SynStream: {
        if (d.length < 10) throw new SpdyProtocolError("short SYN_STREAM");
        const id = d.readUInt32BE(0) & 0x7fffffff;
        const headers = this.decoder.decode(d.subarray(10));
        this.onSynStream(id, frame.flags, headers);
        return;
      }
      case FrameType.SynReply: {
        if (d.length < 4) throw new SpdyProtocolError("short SYN_REPLY");
        const id = d.readUInt32BE(0) & 0x7fffffff;
        const headers = this.decoder.decode(d.subarray(4));
        const stream = this.streams.get(id);
        const waiter = this.replyWaiters.get(id);
        if (!stream || !waiter) return;
        this.replyWaiters.delete(id);
        stream.replyHeaders = headers;
        waiter.resolve(stream);
        if (frame.flags & FLAG_FIN) this.remoteFin(stream);
        return;
      }
      case FrameType.RstStream: {
        if (d.length < 8) throw new SpdyProtocolError("short RST_STREAM");
        const id = d.readUInt32BE(0) & 0x7fffffff;
        const status = d.readUInt32BE(4);
        const stream = this.streams.get(id);
        if (!stream) return;
        const waiter = this.replyWaiters.get(id);
        this.replyWaiters.delete(id);
        waiter?.reject(new Error(`stream ${id} refused (RST_STREAM ${status})`));
        stream.remoteClosed = true;
        stream.localClosed = true;
        this.streams.delete(id);
        this.unpause(stream);
        stream.destroy(
          status === RstStatus.Cancel ? undefined : new Error(`stream reset ${status}`),
        );
        this.maybeFinishGoAway();
        return;
      }
      case FrameType.Settings: {
        const settings = parseSettings(d);
        this.flowControl = true;
        const win = settings.get(SETTINGS_INITIAL_WINDOW_SIZE);
        if (win !== undefined) {
          const delta = win - this.peerInitialWindow;
          this.peerInitialWindow = win;
          for (const s of this.streams.values()) s.sendWindow += delta;
          this.flushAll();
        }
        return;
      }
      case FrameType.Ping: {
        if (d.length < 4) throw new SpdyProtocolError("short PING");
        const id = d.readUInt32BE(0);
        const ours = (id & 1) === (this.nextPingId & 1);
        if (ours) {
          const done = this.pings.get(id);
          this.pings.delete(id);
          done?.();
        } else {
          this.send(encodeControl(FrameType.Ping, 0, d));
        }
        return;
      }
      case FrameType.GoAway: {
        this.goneAway = true;
        this.emit("goaway");
        this.maybeFinishGoAway();
        return;
      }
      case FrameType.Headers:
        // Extra headers carry nothing Kubernetes' protocols use; FIN still counts.
        if (d.length >= 4 && frame.flags & FLAG_FIN) {
          const s = this.streams.get(d.readUInt32BE(0) & 0x7fffffff);
          if (s) this.remoteFin(s);
        }
        if (d.length > 4) this.decoder.decode(d.subarray(4));
        return;
      case FrameType.WindowUpdate: {
        if (d.length < 8) throw new SpdyProtocolError("short WINDOW_UPDATE");
        const id = d.readUInt32BE(0) & 0x7fffffff;
        const delta = d.readUInt32BE(4) & 0x7fffffff;
        this.flowControl = true;
        if (id === 0) this.connSendWindow += delta;
        else {
          const s = this.streams.get(id);
          if (s) s.sendWindow += delta;
        }
        this.flushAll();
        return;
      }
      default:
        // Unknown control frames are ignored (spec 2.2.1).
        return;
    }
  }

  private onSynStream(id: number, flags: number, headers: HeaderList): void {
    const peerParity = this.opts.role === "server" ? 1 : 0;
    if (id === 0 || (id & 1) !== peerParity || id <= this.lastPeerStreamId) {
      this.send(encodeRst(id, RstStatus.ProtocolError));
      return;
    }
    this.lastPeerStreamId = id;
    if (this.goneAway || !this.opts.onStream) {
      this.send(encodeRst(id, RstStatus.RefusedStream));
      return;
    }
    const max = this.opts.maxStreams ?? 64;
    if (this.streams.size >= max) {
      this.send(encodeRst(id, RstStatus.RefusedStream));
      return;
    }
    const stream = new SpdyStream(this, id, headers, this.peerInitialWindow);
    this.streams.set(id, stream);
    this.send(encodeSynReply(id, 0, this.encoder.encode([])));
    if (flags & FLAG_UNIDIRECTIONAL) stream.localClosed = true;
    if (flags & FLAG_FIN) this.remoteFin(stream);
    this.opts.onStream(stream);
  }

  private onDataFrame(frame: DataFrame): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream || stream.remoteClosed) {
      if (!stream) this.send(encodeRst(frame.streamId, RstStatus.InvalidStream));
      return;
    }
    const len = frame.data.length;
    if (len > 0) {
      if (this.flowControl) {
        stream.recvWindow -= len;
        if (stream.recvWindow < 0) {
          this.resetStream(stream, RstStatus.FlowControlError);
          return;
        }
      }
      stream.pendingAck += len;
      const more = stream.push(frame.data);
      if (more) this.ack(stream);
      else if (stream.readableLength >= this.maxBuffered) {
        this.socketPausedBy.add(stream.id);
        this.socket.pause();
      }
    }
    if (frame.flags & FLAG_FIN) this.remoteFin(stream);
  }

  private remoteFin(stream: SpdyStream): void {
    if (stream.remoteClosed) return;
    stream.remoteClosed = true;
    stream.push(null);
    this.maybeRemove(stream);
  }

  onStreamRead(stream: SpdyStream): void {
    this.ack(stream);
    this.unpause(stream);
  }

  private unpause(stream: SpdyStream): void {
    if (this.socketPausedBy.delete(stream.id) && this.socketPausedBy.size === 0 && !this.closed) {
      this.socket.resume();
    }
  }

  private ack(stream: SpdyStream): void {
    const n = stream.pendingAck;
    if (n === 0) return;
    stream.pendingAck = 0;
    if (!this.flowControl) return;
    stream.recvWindow += n;
    if (!stream.remoteClosed) this.send(encodeWindowUpdate(stream.id, n));
    this.connRecvPendingAck += n;
    if (this.connRecvPendingAck >= DEFAULT_WINDOW / 4) {
      this.send(encodeWindowUpdate(0, this.connRecvPendingAck));
      this.connRecvPendingAck = 0;
    }
  }

  // ---- outbound ----

  queueData(
    stream: SpdyStream,
    data: Buffer,
    fin: boolean,
    cb: (err?: Error | null) => void,
  ): void {
    if (this.closed || stream.localClosed) {
      cb(fin ? null : new Error("write after the stream was closed"));
      return;
    }
    stream.pending.push({ data, fin, cb });
    this.flush(stream);
  }

  private flushAll(): void {
    for (const s of this.streams.values()) this.flush(s);
  }

  private flush(stream: SpdyStream): void {
    while (stream.pending.length > 0 && !this.closed) {
      if (this.waitingDrain) return;
      const head = stream.pending[0]!;
      let n = Math.min(head.data.length, this.maxDataFrame);
      if (this.flowControl && n > 0) {
        n = Math.min(n, stream.sendWindow, this.connSendWindow);
        if (n <= 0) return;
        stream.sendWindow -= n;
        this.connSendWindow -= n;
      }
      const piece = head.data.subarray(0, n);
      const last = n === head.data.length;
      const fin = last && head.fin;
      this.send(encodeDataHeader(stream.id, fin ? FLAG_FIN : 0, piece.length), piece);
      if (!last) {
        head.data = head.data.subarray(n);
        continue;
      }
      stream.pending.shift();
      if (fin) {
        stream.localClosed = true;
        this.maybeRemove(stream);
      }
      if (this.waitingDrain) {
        // Call back once the socket drains: that is what bounds our memory.
        const cb = head.cb;
        this.socket.once("drain", () => cb());
        return;
      }
      head.cb();
    }
  }

  resetStream(stream: SpdyStream, status: number): void {
    if (!this.streams.has(stream.id)) return;
    this.streams.delete(stream.id);
    if (!this.closed) this.send(encodeRst(stream.id, status));
    stream.localClosed = true;
    stream.remoteClosed = true;
    this.failPending(stream);
    this.unpause(stream);
    stream.destroy();
    this.maybeFinishGoAway();
  }

  onStreamDestroyed(stream: SpdyStream): void {
    if (!this.streams.has(stream.id)) return;
    if (!(stream.localClosed && stream.remoteClosed)) {
      this.resetStream(stream, RstStatus.Cancel);
      return;
    }
    this.streams.delete(stream.id);
    this.maybeFinishGoAway();
  }

  private maybeRemove(stream: SpdyStream): void {
    if (stream.localClosed && stream.remoteClosed) {
      this.streams.delete(stream.id);
      this.maybeFinishGoAway();
    }
  }

  private maybeFinishGoAway(): void {
    if (this.goneAway && this.streams.size === 0) this.endSocket();
  }

  private failPending(stream: SpdyStream): void {
    const pend = stream.pending.splice(0);
    for (const p of pend) p.cb(p.fin ? null : new Error("stream reset"));
  }

  /** Writes a frame; a data frame's payload as a second buffer, gathered, not copied. */
  private send(buf: Buffer, payload?: Buffer): void {
    if (this.closed) return;
    this.touch();
    if (payload === undefined || payload.length === 0) {
      this.socket.write(buf);
    } else {
      this.socket.cork();
      this.socket.write(buf);
      this.socket.write(payload);
      this.socket.uncork();
    }
    // A socket asks for a drain past 16 KiB; waiting for it at every frame would
    // stop the relay once per frame. Frames wait only past maxSocketBuffer.
    if (this.socket.writableLength > maxSocketBuffer) this.waitingDrain = true;
  }

  private endSocket(): void {
    if (this.closed) return;
    this.socket.end();
    setTimeout(() => this.destroy(), 2000).unref();
  }

  private touch(): void {
    const ms = this.opts.idleTimeoutMs ?? 0;
    if (ms <= 0 || this.closed) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.destroy(new Error("idle timeout")), ms);
      this.idleTimer.unref();
    }
  }

  private protocolError(err: Error): void {
    if (!this.closed) this.socket.write(encodeGoAway(this.lastPeerStreamId, 1));
    this.emit("protocolError", err);
    this.destroy(err);
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.decoder.close();
    for (const w of this.replyWaiters.values()) w.reject(err ?? new Error("connection closed"));
    this.replyWaiters.clear();
    for (const s of [...this.streams.values()]) {
      this.failPending(s);
      if (!s.remoteClosed) {
        s.remoteClosed = true;
        s.push(null);
      }
      s.localClosed = true;
      s.destroy();
    }
    this.streams.clear();
    this.emit("close", err);
  }
}
