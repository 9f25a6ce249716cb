/**
 * Port-forward into a network namespace through the native helper
 * (`skiff-shim port-forward NETNS_PATH PORT`, cri/native/portforward.c): Node cannot
 * setns, so the helper enters the namespace, connects to 127.0.0.1:PORT (then
 * [::1]:PORT) and hands the connected socket back over a Node IPC channel (SCM_RIGHTS,
 * in Node's own handle message format), then exits. The daemon relays that socket
 * itself (socket-relay.ts): no bytes pass through another process. Exit codes: 0
 * handed over, 1 usage, channel or setns failure, 2 nothing listens (message on
 * stderr), 3 handover failed.
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { relay } from "./socket-relay.js";

export const HELPER_EXIT_REFUSED = 2;

export async function portForwardThroughHelper(
  command: string,
  args: string[],
  stream: Duplex,
  signal: AbortSignal,
): Promise<void> {
  const sock = await connectThroughHelper(command, args, signal);
  if (!sock) return;
  await relay(sock, stream, signal);
}

/**
 * The connected socket, or undefined when `signal` aborted first; rejects with the
 * helper's message when it could not connect.
 */
export function connectThroughHelper(
  command: string,
  args: string[],
  signal: AbortSignal,
): Promise<net.Socket | undefined> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve(undefined);
      return;
    }
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let settled = false;
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    const onAbort = (): void => {
      child.kill("SIGKILL");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = (err: Error | undefined, sock?: net.Socket): void => {
      if (settled) {
        sock?.destroy();
        return;
      }
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else if (signal.aborted) {
        sock?.destroy();
        resolve(undefined);
      } else resolve(sock);
    };
    child.on("message", (_msg: unknown, handle: unknown) => {
      if (!handle) return;
      const sock = new net.Socket({
        handle,
        allowHalfOpen: true,
        readable: true,
        writable: true,
      } as net.SocketConstructorOpts);
      settle(undefined, sock);
    });
    // After the handover, Node's acknowledgement may meet a channel the helper has
    // already closed: that error is of no interest.
    child.on("error", (err) => settle(err));
    child.on("close", (code) => {
      if (signal.aborted) settle(undefined);
      else settle(new Error(stderr.trim() || `port-forward helper exited with ${code}`));
    });
  });
}
