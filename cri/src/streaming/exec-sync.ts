/**
 * ExecSync on the same path as Exec: the backend's exec with in-memory stdout and
 * stderr capped at `maxOutput` bytes each (the rest is read and dropped, so a chatty
 * command can neither block nor exhaust memory: CVE-2022-31030), and a timeout that
 * kills the process.
 */
import { Writable } from "node:stream";
import type { StreamBackend } from "./backend.js";

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  timedOut: boolean;
}

class CappedSink extends Writable {
  private readonly parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {
    super();
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    const room = this.cap - this.size;
    if (room > 0) {
      const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.parts.push(piece);
      this.size += piece.length;
    }
    cb();
  }
  get data(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export async function execSync(
  backend: StreamBackend,
  req: { containerId: string; cmd: string[]; timeoutMs?: number; maxOutput?: number },
): Promise<ExecSyncResult> {
  const cap = req.maxOutput ?? 16 * 1024 * 1024;
  const stdout = new CappedSink(cap);
  const stderr = new CappedSink(cap);
  const abort = new AbortController();
  let timedOut = false;
  const timer =
    req.timeoutMs && req.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          abort.abort(new Error("timeout"));
        }, req.timeoutMs)
      : undefined;
  try {
    const result = await backend.exec(
      {
        containerId: req.containerId,
        cmd: req.cmd,
        tty: false,
        stdin: false,
        stdout: true,
        stderr: true,
      },
      { stdout, stderr, tty: false, signal: abort.signal, onResize: () => undefined },
    );
    return { stdout: stdout.data, stderr: stderr.data, exitCode: result.exitCode, timedOut };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
