/**
 * The local terminal for `skiff exec -t` and `skiff attach -t`: the window size (read
 * from our stdout, or stderr, with TIOCGWINSZ) and its changes on SIGWINCH, raw mode
 * on our stdin while a session runs (every key, Ctrl-C included, goes to the remote
 * terminal), and docker's detach keys Ctrl-P Ctrl-Q, which never reach the remote side.
 */
import { Transform } from "node:stream";
import type { WriteStream } from "node:tty";
import type { TerminalSize } from "../../streaming/backend.js";

export function terminalSize(): TerminalSize | undefined {
  for (const stream of [process.stdout, process.stderr] as WriteStream[]) {
    if (stream.isTTY !== true) continue;
    const [width, height] = stream.getWindowSize();
    if (width > 0 && height > 0) return { width, height };
  }
  return undefined;
}

/** Calls `listener` with the new size after each SIGWINCH; returns the unsubscribe. */
export function watchTerminalSize(listener: (size: TerminalSize) => void): () => void {
  const onWinch = (): void => {
    const size = terminalSize();
    if (size) listener(size);
  };
  process.on("SIGWINCH", onWinch);
  return () => process.off("SIGWINCH", onWinch);
}

/** Puts stdin in raw mode when it is a terminal; returns the restore (idempotent). */
export function rawStdin(): () => void {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) return () => undefined;
  stdin.setRawMode(true);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    stdin.setRawMode(false);
  };
}

const CTRL_P = 0x10;
const DETACH = Buffer.from([CTRL_P, 0x11]);

/**
 * Passes bytes through, except Ctrl-P Ctrl-Q: at that sequence it calls `onDetach` and
 * passes nothing more. A Ctrl-P at the end of a chunk waits for the next byte.
 */
export function detachKeys(onDetach: () => void): Transform {
  let held = false;
  let detached = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (detached) return cb();
      let data = held ? Buffer.concat([Buffer.from([CTRL_P]), chunk]) : chunk;
      held = false;
      const at = data.indexOf(DETACH);
      if (at >= 0) {
        detached = true;
        onDetach();
        return cb(null, data.subarray(0, at));
      }
      if (data.at(-1) === CTRL_P) {
        held = true;
        data = data.subarray(0, -1);
      }
      cb(null, data);
    },
  });
}
