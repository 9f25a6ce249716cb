/**
 * Port-forward into a network namespace through the native helper
 * (`skiff-shim port-forward NETNS_PATH PORT`, cri/native/portforward.c): Node cannot
 * setns, so the helper enters the namespace, connects to 127.0.0.1:PORT (then
 * [::1]:PORT) and relays its stdin to the socket and the socket to its stdout, with
 * half-close both ways. Exit codes: 0 done, 1 usage or setns failure, 2 nothing
 * listens (message on stderr), 3 relay I/O error.
 */
import { spawn } from "node:child_process";
import type { Duplex } from "node:stream";

export const HELPER_EXIT_REFUSED = 2;

export function portForwardThroughHelper(
  command: string,
  args: string[],
  stream: Duplex,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    child.stdin.on("error", () => undefined);
    stream.on("error", () => undefined);
    stream.pipe(child.stdin);
    child.stdout.pipe(stream);
    const onAbort = (): void => {
      child.kill("SIGKILL");
    };
    signal.addEventListener("abort", onAbort);
    // The client closed or reset this connection's stream: end the helper. That is the
    // connection ending, not an error to report (crictl drops the whole session on one).
    let streamGone = false;
    stream.on("close", () => {
      if (stream.readableEnded) return;
      streamGone = true;
      child.kill("SIGKILL");
    });
    child.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    child.on("close", (code) => {
      signal.removeEventListener("abort", onAbort);
      if (code === 0 || signal.aborted || streamGone) resolve();
      else reject(new Error(stderr.trim() || `port-forward helper exited with ${code}`));
    });
  });
}
