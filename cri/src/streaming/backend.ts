/**
 * The seam between the streaming server and whatever runs processes: the server turns
 * a client connection into plain Node streams and calls one of these methods; the
 * backend runs the exec, joins the attach session or connects the port, and honours
 * `signal` (aborted when the client goes away). Implementations: HostProcessBackend
 * (host processes, for tests and benchmarks) and the container backend built on
 * skiff-shim's exec mode, the monitor's attach socket and `skiff-shim port-forward`.
 */
import type { Duplex, Readable, Writable } from "node:stream";

export interface TerminalSize {
  width: number;
  height: number;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachRequest {
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  podSandboxId: string;
  /** Ports named in the CRI request; empty means any port the client asks for. */
  ports: number[];
}

/** The client's side of an exec or attach, as Node streams. */
export interface StreamIO {
  /** Client stdin; ends when the client closes stdin. Absent unless requested. */
  stdin?: Readable;
  /** Honour write() back-pressure: the client may read slowly. */
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  /** Terminal size changes (tty only), starting with the client's initial size. */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Aborted when the client disconnects or the server shuts down. */
  signal: AbortSignal;
}

export interface ExecResult {
  /** The process's exit code (128+N when killed by signal N). */
  exitCode: number;
}

export interface StreamBackend {
  /** Run the command; resolve when it has exited and its output has been written. */
  exec(req: ExecRequest, io: StreamIO): Promise<ExecResult>;
  /** Join the container's stdio until the client detaches or the container exits. */
  attach(req: AttachRequest, io: StreamIO): Promise<void>;
  /**
   * Relay `stream` to `port` inside the pod until either side closes (half-close
   * passes through). Reject with a message for the client's error stream when
   * nothing can be connected.
   */
  portForward(
    podSandboxId: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void>;
}
