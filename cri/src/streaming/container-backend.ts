/**
 * The streaming backend for real containers: exec through skiff-shim's exec mode (the
 * same path as ExecSync), attach through the container monitor's attach socket, and
 * port-forward through `skiff-shim port-forward` inside the pod's network namespace.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { closeSync, constants, openSync, rmSync, writeSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Duplex } from "node:stream";
import { failedPrecondition } from "../core/errors.js";
import { attach } from "../core/shim/attach-client.js";
import { shimBinary } from "../core/shim/launch.js";
import { endExec, type ContainerService } from "../services/container/container-service.js";
import type { SandboxService } from "../services/sandbox/sandbox-service.js";
import type { AttachRequest, ExecRequest, ExecResult, StreamBackend, StreamIO } from "./backend.js";
import { portForwardThroughHelper } from "./portforward-helper.js";

const run = promisify(execFile);

export class ContainerStreamBackend implements StreamBackend {
  constructor(
    private readonly containers: ContainerService,
    private readonly sandboxes: SandboxService,
  ) {}

  async exec(req: ExecRequest, io: StreamIO): Promise<ExecResult> {
    const record = await this.containers.get(req.containerId);
    if (record.state !== "running")
      throw failedPrecondition(`container ${req.containerId} is not running`);
    let fifoDir: string | undefined;
    let ctlFifo: string | undefined;
    const ctl = { fd: -1 };
    try {
      if (req.tty) {
        fifoDir = await mkdtemp(join(tmpdir(), "skiff-exec-"));
        ctlFifo = join(fifoDir, "ctl");
        await run("mkfifo", ["-m", "0600", ctlFifo]);
        // Held open (read-write) while the exec runs: sizes written before the shim opens
        // the fifo wait in it, and the shim applies them before the program starts.
        ctl.fd = openSync(ctlFifo, constants.O_RDWR | constants.O_NONBLOCK);
        io.onResize((size) => writeControl(ctl, `w ${size.height} ${size.width}\n`));
        await firstResize(io, 200);
        if (io.signal.aborted) throw new Error("client disconnected");
      }
      const { child, result } = await this.containers.execProcess(
        req.containerId,
        req.cmd,
        req.tty,
        ctlFifo,
      );
      relay(child, io, req);
      const onAbort = () => void endExec(child, result);
      io.signal.addEventListener("abort", onAbort, { once: true });
      try {
        const exit = await result;
        await outputDrained(child);
        return { exitCode: exit.exitCode };
      } finally {
        io.signal.removeEventListener("abort", onAbort);
      }
    } finally {
      if (ctl.fd >= 0) closeSync(ctl.fd);
      ctl.fd = -1;
      if (fifoDir) rmSync(fifoDir, { recursive: true, force: true });
    }
  }

  async attach(req: AttachRequest, io: StreamIO): Promise<void> {
    const record = await this.containers.get(req.containerId);
    if (record.state !== "running")
      throw failedPrecondition(`container ${req.containerId} is not running`);
    if (req.stdin && !record.config.stdin) {
      throw failedPrecondition(
        `container ${req.containerId} was not created with stdin: attach without -i`,
      );
    }
    const session = await attach(this.containers.stateDir(req.containerId));
    if (io.stdout) session.stdout.pipe(io.stdout, { end: false });
    else session.stdout.resume();
    if (io.stderr) session.stderr.pipe(io.stderr, { end: false });
    else session.stderr.resume();
    if (io.stdin) {
      io.stdin.on("data", (d: Buffer) => void session.writeStdin(d));
      io.stdin.on("end", () => {
        if (record.config.stdin_once) session.closeStdin();
      });
    }
    if (req.tty) io.onResize((size) => session.resize(size.height, size.width));
    const onAbort = () => session.detach();
    io.signal.addEventListener("abort", onAbort, { once: true });
    await session.closed;
    io.signal.removeEventListener("abort", onAbort);
  }

  async portForward(
    podSandboxId: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    const record = this.sandboxes.resolve(podSandboxId);
    // A host-network pod's ports are the host's: enter the runtime's own namespace.
    const netns = record.netnsPath || "/proc/self/ns/net";
    await portForwardThroughHelper(
      shimBinary(),
      ["port-forward", netns, String(port)],
      stream,
      signal,
    );
  }
}

function relay(child: ChildProcess, io: StreamIO, req: ExecRequest): void {
  if (io.stdin && child.stdin) {
    io.stdin.pipe(child.stdin);
    child.stdin.on("error", () => undefined);
  } else {
    child.stdin?.end();
  }
  if (child.stdout) {
    if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
    else child.stdout.resume();
  }
  if (child.stderr) {
    if (io.stderr && !req.tty) child.stderr.pipe(io.stderr, { end: false });
    else child.stderr.resume();
  }
}

function outputDrained(child: ChildProcess): Promise<void> {
  const ended = (s: NodeJS.ReadableStream | null) =>
    !s || (s as unknown as { readableEnded: boolean }).readableEnded
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          s.once("end", resolve);
          s.once("close", resolve);
        });
  return Promise.all([ended(child.stdout), ended(child.stderr)]).then(() => undefined);
}

/**
 * Resolves once the client's first terminal size is in (clients send it as soon as the
 * session opens), or after `ms` for a client that sends none: a program that reads its
 * size at start (stty size, a full-screen editor) then sees the right one.
 */
function firstResize(io: StreamIO, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    io.onResize(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function writeControl(ctl: { fd: number }, command: string): void {
  if (ctl.fd < 0) return; // the exec has ended
  try {
    writeSync(ctl.fd, command);
  } catch {
    // the fifo is full: the shim is not reading (the exec is ending)
  }
}
