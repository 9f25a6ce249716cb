/**
 * A StreamBackend on host processes, for tests and benchmarks: exec runs the command
 * with pipes, or under a pty made by util-linux `script` when tty is asked (resizes go
 * to the pty with `stty -F`); attach joins a long-running process registered with
 * startContainer (several clients at once, output fanned out with back-pressure);
 * port-forward connects to 127.0.0.1:PORT, then [::1]:PORT, on the host, or runs a
 * helper (`skiff-shim port-forward NETNS PORT`) when a netns is configured.
 * Every process runs in its own process group and is killed when the client leaves.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import * as net from "node:net";
import type { Duplex, Readable, Writable } from "node:stream";
import type {
  AttachRequest,
  ExecRequest,
  ExecResult,
  StreamBackend,
  StreamIO,
  TerminalSize,
} from "./backend.js";
import { portForwardThroughHelper } from "./portforward-helper.js";
import { relay } from "./socket-relay.js";

export interface HostProcessBackendOptions {
  scriptPath?: string;
  /** Wait this long for the client's first terminal size before starting a tty exec. */
  initialSizeWaitMs?: number;
  /** Port-forward through a helper: command and argv prefix, the port is appended. */
  portForwardHelper?: { command: string; args: string[] };
}

export function shellQuote(args: string[]): string {
  return args
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return 128 + (signal ? (signals[signal] ?? 0) : 0);
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** The pty slave of the process `script` started (its child's fd 0). */
async function ptyOf(scriptPid: number): Promise<string | undefined> {
  try {
    const children = (
      await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8")
    ).trim();
    const child = children.split(/\s+/)[0];
    if (!child) return undefined;
    const target = await readlink(`/proc/${child}/fd/0`);
    return target.startsWith("/dev/pts/") ? target : undefined;
  } catch {
    return undefined;
  }
}

async function setPtySize(scriptPid: number, size: TerminalSize): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const pty = await ptyOf(scriptPid);
    if (pty) {
      await new Promise<void>((resolve) => {
        const p = spawn(
          "stty",
          ["-F", pty, "rows", String(size.height), "cols", String(size.width)],
          {
            stdio: "ignore",
          },
        );
        p.on("error", () => resolve());
        p.on("close", () => resolve());
      });
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function firstSize(io: StreamIO, waitMs: number): Promise<TerminalSize | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), waitMs);
    io.onResize((s) => {
      clearTimeout(t);
      resolve(s);
    });
  });
}

/** Copy `from` into `to` without ending it; resolves when `from` ends or fails. */
function pump(from: Readable, to: Writable): Promise<void> {
  return new Promise((resolve) => {
    from.on("data", (chunk: Buffer) => {
      if (to.destroyed || to.writableEnded) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
    to.on("error", () => from.resume());
    to.on("close", () => from.resume());
    from.once("end", () => resolve());
    from.once("error", () => resolve());
    from.once("close", () => resolve());
  });
}

export class HostContainer {
  readonly child: ChildProcess;
  readonly tty: boolean;
  readonly exited: Promise<number>;
  private readonly outputs = new Set<{ stdout?: Writable; stderr?: Writable }>();

  constructor(cmd: string[], opts: { tty: boolean; stdin: boolean; scriptPath: string }) {
    this.tty = opts.tty;
    const [file, args] = opts.tty
      ? [opts.scriptPath, ["-qfec", shellQuote(cmd), "/dev/null"]]
      : [cmd[0]!, cmd.slice(1)];
    this.child = spawn(file, args, {
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child.stdin?.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on("error", () => resolve(127));
      this.child.on("close", (code, signal) => resolve(exitCodeOf(code, signal)));
    });
    this.fanOut(this.child.stdout!, "stdout");
    this.fanOut(this.child.stderr!, "stderr");
  }

  private fanOut(from: Readable, which: "stdout" | "stderr"): void {
    from.on("data", (chunk: Buffer) => {
      let blocked = 0;
      for (const o of this.outputs) {
        const to = o[which] ?? (this.tty ? o.stdout : undefined);
        if (!to || to.destroyed || to.writableEnded) continue;
        if (!to.write(chunk)) {
          blocked++;
          to.once("drain", () => {
            if (--blocked === 0) from.resume();
          });
        }
      }
      if (blocked > 0) from.pause();
    });
  }

  join(io: { stdout?: Writable; stderr?: Writable }): () => void {
    const entry = { ...io };
    this.outputs.add(entry);
    return () => {
      this.outputs.delete(entry);
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    };
  }

  resize(size: TerminalSize): void {
    if (this.tty && this.child.pid !== undefined) void setPtySize(this.child.pid, size);
  }

  kill(): void {
    killGroup(this.child);
  }
}

export class HostProcessBackend implements StreamBackend {
  private readonly containers = new Map<string, HostContainer>();
  private readonly running = new Set<ChildProcess>();
  private readonly scriptPath: string;

  constructor(private readonly opts: HostProcessBackendOptions = {}) {
    this.scriptPath = opts.scriptPath ?? "/usr/bin/script";
  }

  /** Processes started by exec that are still running. */
  get runningExecs(): number[] {
    return [...this.running].map((c) => c.pid!).filter((p) => p !== undefined);
  }

  startContainer(
    id: string,
    cmd: string[],
    opts: { tty?: boolean; stdin?: boolean } = {},
  ): HostContainer {
    const c = new HostContainer(cmd, {
      tty: opts.tty ?? false,
      stdin: opts.stdin ?? false,
      scriptPath: this.scriptPath,
    });
    this.containers.set(id, c);
    void c.exited.then(() => {
      if (this.containers.get(id) === c) this.containers.delete(id);
    });
    return c;
  }

  container(id: string): HostContainer | undefined {
    return this.containers.get(id);
  }

  async exec(req: ExecRequest, io: StreamIO): Promise<ExecResult> {
    let file = req.cmd[0]!;
    let args = req.cmd.slice(1);
    if (req.tty) {
      const size = await firstSize(io, this.opts.initialSizeWaitMs ?? 300);
      const pre = size ? `stty rows ${size.height} cols ${size.width} 2>/dev/null; ` : "";
      file = this.scriptPath;
      args = ["-qfec", `${pre}exec ${shellQuote(req.cmd)}`, "/dev/null"];
    }
    if (io.signal.aborted) throw new Error("client disconnected");
    const child = spawn(file, args, {
      stdio: [
        io.stdin ? "pipe" : "ignore",
        io.stdout ? "pipe" : "ignore",
        io.stderr ? "pipe" : "ignore",
      ],
      detached: true,
    });
    this.running.add(child);
    const onAbort = (): void => killGroup(child);
    io.signal.addEventListener("abort", onAbort);
    let started = false;
    if (req.tty) {
      io.onResize((size) => {
        if (started && child.pid !== undefined) void setPtySize(child.pid, size);
      });
    }
    try {
      const exit = new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code, signal) => resolve(exitCodeOf(code, signal)));
      });
      exit.catch(() => undefined);
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
      started = true;
      if (io.stdin && child.stdin) {
        const sin = child.stdin;
        sin.on("error", () => undefined);
        io.stdin.pipe(sin);
      }
      const copies: Promise<void>[] = [];
      if (io.stdout && child.stdout) copies.push(pump(child.stdout, io.stdout));
      if (io.stderr && child.stderr) copies.push(pump(child.stderr, io.stderr));
      const code = await exit;
      // The process is gone; a background child may still hold the pipes open.
      const grace = new Promise<void>((r) => setTimeout(r, 2000).unref());
      await Promise.race([Promise.all(copies), grace]);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
      return { exitCode: code };
    } finally {
      io.signal.removeEventListener("abort", onAbort);
      killGroup(child);
      this.running.delete(child);
    }
  }

  async attach(req: AttachRequest, io: StreamIO): Promise<void> {
    const c = this.containers.get(req.containerId);
    if (!c) throw new Error(`container ${req.containerId} is not running`);
    const out: { stdout?: Writable; stderr?: Writable } = {};
    if (io.stdout) out.stdout = io.stdout;
    if (io.stderr) out.stderr = io.stderr;
    const leave = c.join(out);
    io.onResize((size) => c.resize(size));
    const sin = c.child.stdin;
    const onData = (chunk: Buffer): void => {
      if (sin && !sin.destroyed && !sin.write(chunk)) {
        io.stdin?.pause();
        sin.once("drain", () => io.stdin?.resume());
      }
    };
    if (req.stdin && io.stdin && sin) io.stdin.on("data", onData);
    try {
      await Promise.race([
        c.exited,
        new Promise<void>((resolve) => {
          if (io.signal.aborted) resolve();
          io.signal.addEventListener("abort", () => resolve());
        }),
      ]);
    } finally {
      io.stdin?.off("data", onData);
      leave();
    }
  }

  async portForward(
    _pod: string,
    port: number,
    stream: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    if (this.opts.portForwardHelper) {
      const h = this.opts.portForwardHelper;
      return portForwardThroughHelper(h.command, [...h.args, String(port)], stream, signal);
    }
    const sock = await connectLoopback(port);
    await relay(sock, stream, signal);
  }

  /** Kill every process this backend started. */
  stopAll(): void {
    for (const c of this.running) killGroup(c);
    for (const c of this.containers.values()) c.kill();
  }
}

export async function connectLoopback(port: number): Promise<net.Socket> {
  const errors: string[] = [];
  for (const [host, family] of [
    ["127.0.0.1", "tcp4"],
    ["::1", "tcp6"],
  ] as const) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host, port, allowHalfOpen: true });
        s.once("connect", () => {
          s.off("error", reject);
          resolve(s);
        });
        s.once("error", reject);
      });
    } catch (err) {
      const shown = family === "tcp6" ? `[${host}]` : host;
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ECONNREFUSED" ? "connect: connection refused" : (err as Error).message;
      errors.push(
        `${family === "tcp4" ? "IPv4" : "IPv6"}: dial ${family} ${shown}:${port}: ${why}`,
      );
    }
  }
  throw new Error(`failed to connect to localhost:${port}, ${errors.join(" ")}`);
}
