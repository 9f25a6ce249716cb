/**
 * The client side of the streaming server's SPDY upgrade, as client-go's SPDY round
 * tripper does it: POST the URL with `Connection: Upgrade`, `Upgrade: SPDY/3.1` and the
 * offered `X-Stream-Protocol-Version`s; a 101 answer hands over the socket, on which a
 * SpdyConnection in the client role runs (SPDY/3.1 flow control announced unless told
 * otherwise). Any other answer rejects with its status, headers and body. Used by the
 * skiff CLI (port-forward) and the tests.
 */
import type * as Http from "node:http";
import * as https from "node:https";
import type { Duplex } from "node:stream";
import { http } from "../../core/host/builtins.js";
import { SpdyConnection } from "../spdy/connection.js";

export interface UpgradeFailure {
  status: number;
  headers: Http.IncomingHttpHeaders;
  body: string;
}

export async function spdyConnect(
  url: string,
  protocols: string[],
  opts: { flowControl?: boolean; upgrade?: string } = {},
): Promise<{ conn: SpdyConnection; protocol: string; socket: Duplex }> {
  const request = url.startsWith("https:") ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: {
        Connection: "Upgrade",
        Upgrade: opts.upgrade ?? "SPDY/3.1",
        ...(protocols.length > 0 ? { "X-Stream-Protocol-Version": protocols } : {}),
      },
    });
    req.on("upgrade", (res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      const conn = new SpdyConnection(socket, {
        role: "client",
        announceFlowControl: opts.flowControl ?? true,
      });
      resolve({ conn, protocol: String(res.headers["x-stream-protocol-version"] ?? ""), socket });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        const failure: UpgradeFailure = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
        };
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), failure));
      });
    });
    req.on("error", reject);
    req.end();
  });
}
