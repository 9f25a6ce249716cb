/**
 * skiff port-forward POD [LOCAL:]REMOTE...: the CRI PortForward RPC gives a single-use
 * URL; one SPDY session (portforward.k8s.io) over it carries every forwarded
 * connection, as kubectl's does. For each mapping we listen on 127.0.0.1:LOCAL (0 or
 * an empty LOCAL: a free port, printed) and relay each accepted connection over its own
 * stream pair, half-close included. A connection the pod refuses is reported and
 * closed; the session stays. SIGINT or SIGTERM ends it all (exit 0); losing the session
 * is an error.
 */
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { PortForwardResponse__Output } from "../../generated/runtime/v1/PortForwardResponse.js";
import { forwardSocket, portForwardProtocol } from "../../streaming/client/portforward.js";
import { spdyConnect, type UpgradeFailure } from "../../streaming/client/spdy-dial.js";
import { rpc } from "../client.js";
import { ArgumentError, type Command } from "./images.js";

const usage = "port-forward: usage: skiff port-forward POD [LOCAL:]REMOTE...";

interface Mapping {
  local: number;
  remote: number;
}

function port(text: string, spec: string, min: number): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 65535)) throw new ArgumentError(`port-forward: invalid port in "${spec}"`);
  return n;
}

/** "8080" (same port here), ":8080" (any free port here), "9000:8080". */
export function parseMapping(spec: string): Mapping {
  const parts = spec.split(":");
  if (parts.length === 1) return { local: port(spec, spec, 1), remote: port(spec, spec, 1) };
  if (parts.length !== 2) throw new ArgumentError(`port-forward: invalid mapping "${spec}"`);
  const [local, remote] = parts as [string, string];
  return { local: local === "" ? 0 : port(local, spec, 0), remote: port(remote, spec, 1) };
}

function listen(server: net.Server, p: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(p, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export const portForward: Command = async (c, args) => {
  const [pod, ...specs] = args;
  if (pod === undefined || pod.startsWith("-") || specs.length === 0)
    throw new ArgumentError(usage);
  const mappings = specs.map(parseMapping);
  const { url } = await rpc<PortForwardResponse__Output>(c.runtime, "PortForward", {
    pod_sandbox_id: pod,
    port: mappings.map((m) => m.remote),
  });
  let dialed;
  try {
    dialed = await spdyConnect(url, [portForwardProtocol]);
  } catch (err) {
    const e = err as Error & Partial<UpgradeFailure>;
    throw new Error(
      `cannot open the port-forward session: ${e.message}${e.body ? `: ${e.body.trim()}` : ""}`,
      { cause: err },
    );
  }
  const { conn } = dialed;
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let onSignal = (): void => undefined;
  try {
    const ended = new Promise<void>((resolve, reject) => {
      onSignal = () => resolve();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      conn.once("close", (err?: Error) =>
        reject(
          new Error(`lost the port-forward session to pod ${pod}${err ? `: ${err.message}` : ""}`),
        ),
      );
    });
    ended.catch(() => undefined); // awaited below; a close during setup is not unhandled
    let requestId = 0;
    for (const m of mappings) {
      const server = net.createServer({ allowHalfOpen: true });
      servers.push(server);
      let local: number;
      try {
        local = await listen(server, m.local);
      } catch (err) {
        throw new Error(`unable to listen on 127.0.0.1:${m.local}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      process.stdout.write(`Forwarding from 127.0.0.1:${local} -> ${m.remote}\n`);
      server.on("connection", (socket: net.Socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        process.stdout.write(`Handling connection for ${local}\n`);
        void forwardSocket(conn, m.remote, String(requestId++), socket).then((text) => {
          if (text) process.stderr.write(`skiff: port-forward ${local} -> ${m.remote}: ${text}\n`);
        });
      });
    }
    await ended;
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    conn.close(true);
  }
};
