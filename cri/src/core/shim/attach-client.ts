/**
 * A client of a container monitor's attach socket (state_dir/attach; frame format in
 * cri/native/monitor.c): [type u8][length u32 BE][payload]. From the monitor: 1 stdout,
 * 2 stderr. To it: 0 stdin data, 3 close stdin, 4 resize (rows u16 BE, cols u16 BE).
 * The monitor drops a client that falls behind, so a reader must keep reading.
 */
import { randomBytes } from "node:crypto";
import { rmSync, symlinkSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { SystemError } from "../errors.js";
import { statePaths } from "./shim-client.js";

const FRAME_MAX = 4096;
const enum Frame {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  CloseStdin = 3,
  Resize = 4,
}

export interface Attachment {
  stdout: Readable;
  stderr: Readable;
  writeStdin(data: Buffer): Promise<void>;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** Ends the attachment; the container keeps running. */
  detach(): void;
  /** Resolves when the monitor closes the socket (the container exited) or on detach. */
  closed: Promise<void>;
}

/** sun_path holds 108 bytes; a longer socket path is reached through a short symlink. */
const maxSocketPath = 100;

export async function attach(stateDir: string): Promise<Attachment> {
  const path = statePaths(stateDir).attach;
  if (path.length < maxSocketPath) return connectTo(path, path);
  const link = join(tmpdir(), `skiff-attach-${randomBytes(6).toString("hex")}`);
  symlinkSync(path, link);
  try {
    return await connectTo(link, path);
  } finally {
    rmSync(link, { force: true });
  }
}

function connectTo(address: string, path: string): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(address);
    socket.once("error", (err) =>
      reject(new SystemError("attach to", path, err, "FailedPrecondition")),
    );
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(wrap(socket));
    });
  });
}

function frame(type: Frame, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

function wrap(socket: Socket): Attachment {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const type = pending.readUInt8(0);
      const payload = pending.subarray(5, 5 + length);
      if (type === Frame.Stdout) stdout.write(payload);
      else if (type === Frame.Stderr) stderr.write(payload);
      pending = pending.subarray(5 + length);
    }
  });
  const closed = new Promise<void>((resolve) => {
    socket.on("close", () => {
      stdout.end();
      stderr.end();
      resolve();
    });
  });
  socket.on("error", () => socket.destroy());
  return {
    stdout,
    stderr,
    async writeStdin(data: Buffer) {
      for (let offset = 0; offset < data.length; offset += FRAME_MAX) {
        const piece = frame(Frame.Stdin, data.subarray(offset, offset + FRAME_MAX));
        if (!socket.write(piece)) await new Promise((r) => socket.once("drain", r));
      }
    },
    closeStdin: () => void socket.write(frame(Frame.CloseStdin, Buffer.alloc(0))),
    resize(rows: number, cols: number) {
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(rows, 0);
      payload.writeUInt16BE(cols, 2);
      socket.write(frame(Frame.Resize, payload));
    },
    detach: () => socket.end(),
    closed,
  };
}
