/**
 * Misbehaving network peers for e2e tests, all on 127.0.0.1:
 * - a black hole: accepts TCP connections and never answers (a dead mirror);
 * - an HTTP proxy in front of a plain-HTTP registry that, on blob downloads, cuts the
 *   connection after some bytes (once per blob), stalls, redirects, or flips one byte
 *   (a lying registry); it can also fail or reset the first requests; counting the blob bytes it sent and recording every request (with no
 *   options it is a recording pass-through).
 */
import * as http from "node:http";
import { createServer, type AddressInfo, type Socket } from "node:net";

export interface BlackHole {
  host: string;
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ProxyOptions {
  /** Cut the first download of each blob after this many body bytes. */
  cutBlobAfter?: number;
  /** Flip (xor 0xff) the body byte at this offset of every blob download. */
  flipBlobByte?: number;
  /** Flip a byte of manifests too (the byte at offset 10). */
  flipManifests?: boolean;
  /** Answer the first requests with this status (and Retry-After) without forwarding. */
  failFirst?: { count: number; status: number; retryAfter?: string };
  /** Reset the connection of the first N requests without answering. */
  resetFirst?: number;
  /** Stop sending (connection kept open) the first download of each blob after this many bytes. */
  stallBlobAfter?: number;
  /** Answer blob GETs with a 307 to this base URL (same path). */
  redirectBlobsTo?: string;
}

export interface BlobProxy {
  host: string;
  url: string;
  /** Body bytes of blob downloads sent to clients, by digest. */
  blobBytes: Map<string, number>;
  /** Requests seen: method, path, some headers, the status answered. */
  requests: {
    method: string;
    path: string;
    range?: string;
    contentRange?: string;
    authorization?: string;
    status?: number;
  }[];
  cuts: number;
  stop(): Promise<void>;
}

export async function startBlobProxy(target: string, options: ProxyOptions): Promise<BlobProxy> {
  const targetUrl = new URL(target);
  const cutDone = new Set<string>();
  const proxy: BlobProxy = {
    host: "",
    url: "",
    blobBytes: new Map(),
    requests: [],
    cuts: 0,
    stop: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    const record: BlobProxy["requests"][number] = { method: req.method ?? "GET", path };
    if (req.headers.range) record.range = req.headers.range;
    if (req.headers["content-range"]) record.contentRange = req.headers["content-range"];
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    proxy.requests.push(record);
    if (options.resetFirst !== undefined && proxy.requests.length <= options.resetFirst) {
      record.status = 0;
      req.socket.resetAndDestroy();
      return;
    }
    const fail = options.failFirst;
    if (fail !== undefined && proxy.requests.length <= fail.count) {
      record.status = fail.status;
      res.writeHead(
        fail.status,
        fail.retryAfter !== undefined ? { "Retry-After": fail.retryAfter } : {},
      );
      res.end();
      return;
    }
    const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path.split("?")[0]!)?.[1];
    const isManifest = /\/manifests\//.test(path);
    if (blob !== undefined && options.redirectBlobsTo !== undefined && req.method === "GET") {
      record.status = 307;
      res.writeHead(307, { Location: `${options.redirectBlobsTo}${path}` });
      res.end();
      return;
    }
    const headers = { ...req.headers, host: targetUrl.host };
    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path,
        headers,
        agent: false,
      },
      (up) => {
        record.status = up.statusCode ?? 0;
        const responseHeaders = { ...up.headers };
        if (typeof responseHeaders.location === "string") {
          responseHeaders.location = responseHeaders.location.replace(
            targetUrl.origin,
            `http://${proxy.host}`,
          );
        }
        res.writeHead(up.statusCode ?? 502, responseHeaders);
        const download = req.method === "GET" && up.statusCode !== undefined && up.statusCode < 300;
        if (!download || (blob === undefined && !(isManifest && options.flipManifests))) {
          up.pipe(res);
          return;
        }
        const limit = options.cutBlobAfter ?? options.stallBlobAfter;
        const cut = blob !== undefined && limit !== undefined && !cutDone.has(blob);
        if (cut) cutDone.add(blob);
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          let out = chunk;
          const flipAt = isManifest ? 10 : options.flipBlobByte;
          if (flipAt !== undefined && flipAt >= sent && flipAt < sent + chunk.length) {
            out = Buffer.from(chunk);
            out[flipAt - sent] = out[flipAt - sent]! ^ 0xff;
          }
          if (cut && limit !== undefined && sent + out.length >= limit) {
            const part = out.subarray(0, limit - sent);
            sent += part.length;
            if (blob) proxy.blobBytes.set(blob, (proxy.blobBytes.get(blob) ?? 0) + part.length);
            proxy.cuts++;
            up.destroy();
            if (options.cutBlobAfter !== undefined) res.write(part, () => res.socket?.destroy());
            else res.write(part); // stalled: the connection stays open, silent
            return;
          }
          sent += out.length;
          if (blob) proxy.blobBytes.set(blob, (proxy.blobBytes.get(blob) ?? 0) + out.length);
          if (!res.write(out)) {
            up.pause();
            res.once("drain", () => up.resume());
          }
        });
        up.on("end", () => res.end());
        up.on("error", () => res.destroy());
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
