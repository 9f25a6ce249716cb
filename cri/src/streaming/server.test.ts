/**
 * The streaming server against real host processes (HostProcessBackend) and the test
 * clients: every remotecommand version over SPDY and WebSocket, exit codes, stdin EOF,
 * stderr, resize under a pty, disconnect cleanup, tokens, limits, port-forward.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { HostProcessBackend } from "./host-process-backend.js";
import { StreamingServer, parseStreamAddress } from "./server.js";
import { spdyCommand, spdyConnect, spdyForward, wsFrame, wsSession } from "./testing/clients.js";
import { statusExitCode } from "./status.js";
import { TokenCache } from "./token-cache.js";

const backend = new HostProcessBackend();
let server: StreamingServer;
let echo: http.Server;
let echoPort = 0;
let freePort = 0;

const exec = (
  cmd: string[],
  o: Partial<{ tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }> = {},
): string =>
  server.getExec({
    containerId: "c1",
    cmd,
    tty: false,
    stdin: false,
    stdout: true,
    stderr: false,
    ...o,
  });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  server = new StreamingServer({ backend, maxConnections: 50 });
  await server.start();
  echo = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => res.end(`echo:${req.method}:${body}`));
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as AddressInfo).port;
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  backend.stopAll();
  await server.stop();
  await new Promise<void>((r) => echo.close(() => r()));
});

describe("addresses and tokens", () => {
  test("stream addresses parse as --stream-address expects", () => {
    expect(parseStreamAddress("127.0.0.1:10010")).toEqual({ host: "127.0.0.1", port: 10010 });
    expect(parseStreamAddress("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(parseStreamAddress("0.0.0.0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseStreamAddress(":9000")).toEqual({ host: "127.0.0.1", port: 9000 });
  });

  test("urls have the kubelet shape", () => {
    expect(exec(["true"])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{11}$/);
    expect(
      server.getAttach({ containerId: "a", tty: false, stdin: false, stdout: true, stderr: false }),
    ).toMatch(/\/attach\//);
    expect(server.getPortForward({ podSandboxId: "p", ports: [] })).toMatch(/\/portforward\//);
  });

  test("invalid requests are refused before a token is made", () => {
    expect(() => exec(["true"], { tty: true, stderr: true })).toThrow(/tty and stderr/);
    expect(() => exec(["true"], { stdout: false, stderr: false })).toThrow(/one of stdin/);
    expect(() => server.getPortForward({ podSandboxId: "", ports: [] })).toThrow(/pod_sandbox_id/);
  });

  test("tokens are single use and expire", () => {
    let now = 1000;
    const cache = new TokenCache<string>(60_000, 2, () => now);
    const a = cache.insert("a");
    expect(cache.consume(a)).toBe("a");
    expect(cache.consume(a)).toBeUndefined();
    const b = cache.insert("b");
    now += 60_000;
    expect(cache.consume(b)).toBeUndefined();
    cache.insert("c");
    cache.insert("d");
    expect(() => cache.insert("e")).toThrow(/in-flight/);
  });

  test("a reused token gets 404 and starts nothing", async () => {
    const url = exec(["sh", "-c", "echo once"]);
    const first = await spdyCommand(url, { protocol: "v4.channel.k8s.io" });
    expect(first.stdout).toBe("once\n");
    await expect(spdyConnect(url, ["v4.channel.k8s.io"])).rejects.toMatchObject({ status: 404 });
    await expect(
      spdyConnect(server.url + "/exec/nope", ["v4.channel.k8s.io"]),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  test("protocol negotiation failures and bad upgrades", async () => {
    await expect(spdyConnect(exec(["true"]), ["v9.channel.k8s.io"])).rejects.toMatchObject({
      status: 403,
      headers: {
        "x-accepted-stream-protocol-versions": expect.stringContaining("v4.channel.k8s.io"),
      },
    });
    await expect(
      spdyConnect(exec(["true"]), ["v4.channel.k8s.io"], { upgrade: "h2c" }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(spdyConnect(exec(["true"]), [])).rejects.toMatchObject({
      status: 400,
      body: expect.stringContaining("X-Stream-Protocol-Version is required"),
    });
    const res = await fetch(exec(["true"]), { method: "POST" });
    expect(res.status).toBe(400);
  });

  test("garbage after the upgrade ends the session and starts nothing", async () => {
    const before = server.activeSessions;
    const { socket } = await spdyConnect(exec(["sleep", "30"]), ["v4.channel.k8s.io"]);
    const closed = new Promise((r) => socket.once("close", r));
    socket.write(Buffer.from("80020001000000040000000100000000", "hex"));
    await closed;
    await sleep(50);
    expect(backend.runningExecs).toEqual([]);
    expect(server.activeSessions).toBe(before);
  });

  test("a client that never opens its streams is cut after the creation timeout", async () => {
    const quick = new StreamingServer({ backend, streamCreationTimeoutMs: 200 });
    await quick.start();
    try {
      const url = quick.getExec({
        containerId: "c",
        cmd: ["sleep", "30"],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: false,
      });
      const { conn } = await spdyConnect(url, ["v4.channel.k8s.io"]);
      await conn.createStream([["streamType", "error"]]);
      await new Promise((r) => conn.once("close", r));
      expect(backend.runningExecs).toEqual([]);
      expect(quick.activeSessions).toBe(0);
    } finally {
      await quick.stop();
    }
  });
});

describe("exec over SPDY", () => {
  for (const protocol of [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
  ]) {
    test(`${protocol}: stdout, stderr and exit code`, async () => {
      const url = exec(["sh", "-c", "echo out; echo err >&2; exit 3"], { stderr: true });
      const r = await spdyCommand(url, { protocol, stderr: true });
      expect(r.stdout).toBe("out\n");
      expect(r.stderr).toBe("err\n");
      if (protocol.startsWith("v4") || protocol.startsWith("v5")) {
        expect(r.status?.reason).toBe("NonZeroExitCode");
        expect(statusExitCode(r.status!)).toBe(3);
      } else {
        expect(r.error).toMatch(/non-zero exit code.*exit code 3/);
      }
    });
  }

  test("success writes a Success status (v4) and nothing (v2)", async () => {
    const v4 = await spdyCommand(exec(["true"]), { protocol: "v4.channel.k8s.io" });
    expect(v4.status).toEqual({ metadata: {}, status: "Success" });
    const v2 = await spdyCommand(exec(["true"]), { protocol: "v2.channel.k8s.io" });
    expect(v2.error).toBe("");
  });

  test("stdin reaches the process and closing it ends the process", async () => {
    const url = exec(["sh", "-c", "cat; echo done"], { stdin: true, stderr: false });
    const r = await spdyCommand(url, { protocol: "v4.channel.k8s.io", stdin: "hello\n" });
    expect(r.stdout).toBe("hello\ndone\n");
    expect(statusExitCode(r.status!)).toBe(0);
  });

  test("a missing command is an internal error status", async () => {
    const r = await spdyCommand(exec(["/nonexistent/cmd"]), { protocol: "v4.channel.k8s.io" });
    expect(r.status?.status).toBe("Failure");
    expect(r.status?.reason).toBe("InternalError");
  });

  test("large output arrives whole with SPDY flow control", async () => {
    const url = exec(["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x"], { stderr: false });
    const r = await spdyCommand(url, { protocol: "v4.channel.k8s.io" });
    expect(r.stdout.length).toBe(5_000_000);
  });

  test("resize under a pty is observed by stty size", async () => {
    const url = exec(["sh", "-c", "stty size; read x; stty size"], {
      tty: true,
      stdin: true,
      stderr: false,
    });
    let resize: import("./spdy/connection.js").SpdyStream | undefined;
    let stdin: import("./spdy/connection.js").SpdyStream | undefined;
    const p = spdyCommand(url, {
      protocol: "v4.channel.k8s.io",
      tty: true,
      stdin: "keep-open",
      resize: [{ width: 100, height: 40 }],
      onOpen: (s) => {
        resize = s.resize;
        stdin = s.stdin;
      },
    });
    await sleep(800);
    resize!.write(JSON.stringify({ Width: 132, Height: 50 }) + "\n");
    await sleep(300);
    stdin!.write("go\n");
    const r = await p;
    expect(r.stdout).toContain("40 100");
    expect(r.stdout).toContain("50 132");
  });

  test("a client that disconnects kills the process", async () => {
    const url = exec(["sleep", "300"], { stderr: false });
    const { conn } = await spdyConnect(url, ["v4.channel.k8s.io"]);
    await conn.createStream([["streamType", "error"]]);
    await conn.createStream([["streamType", "stdout"]]);
    let pids: number[] = [];
    for (let i = 0; i < 50 && pids.length === 0; i++) {
      await sleep(20);
      pids = backend.runningExecs;
    }
    expect(pids.length).toBe(1);
    conn.destroy();
    for (let i = 0; i < 100 && alive(pids[0]!); i++) await sleep(20);
    expect(alive(pids[0]!)).toBe(false);
    expect(backend.runningExecs).toEqual([]);
  });

  test("a client that never reads does not grow memory without bound", async () => {
    const url = exec(["sh", "-c", "head -c 200000000 /dev/zero"], { stderr: false });
    const { conn } = await spdyConnect(url, ["v4.channel.k8s.io"], { flowControl: true });
    const e = await conn.createStream([["streamType", "error"]]);
    const out = await conn.createStream([["streamType", "stdout"]]);
    e.pause();
    out.pause();
    await sleep(1500);
    const before = process.memoryUsage().rss;
    await sleep(1500);
    const grown = process.memoryUsage().rss - before;
    expect(out.readableLength).toBeLessThan(2 * 1024 * 1024);
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    conn.destroy();
  });
});

describe("exec over WebSocket", () => {
  test("v5.channel.k8s.io: stdin, close signal, stdout, stderr, status", async () => {
    const url = exec(["sh", "-c", "cat; echo e >&2; exit 5"], { stdin: true, stderr: true });
    const r = await wsSession(url, ["v5.channel.k8s.io"], (ws) => {
      ws.send(wsFrame(0, "abc"));
      ws.send(Buffer.from([255, 0]));
    });
    expect(r.protocol).toBe("v5.channel.k8s.io");
    expect(r.channels.get(1)?.toString()).toBe("abc");
    expect(r.channels.get(2)?.toString()).toBe("e\n");
    const status = JSON.parse(r.channels.get(3)!.toString());
    expect(statusExitCode(status)).toBe(5);
  });

  test("v4.channel.k8s.io: JSON status", async () => {
    const r = await wsSession(
      exec(["sh", "-c", "echo hi"]),
      ["v4.channel.k8s.io"],
      () => undefined,
    );
    expect(r.channels.get(1)?.toString()).toBe("hi\n");
    expect(JSON.parse(r.channels.get(3)!.toString()).status).toBe("Success");
  });

  test("v4.base64.channel.k8s.io: text frames", async () => {
    const r = await wsSession(
      exec(["sh", "-c", "echo b64; exit 2"]),
      ["v4.base64.channel.k8s.io"],
      () => undefined,
      true,
    );
    expect(r.channels.get(1)?.toString()).toBe("b64\n");
    expect(statusExitCode(JSON.parse(r.channels.get(3)!.toString()))).toBe(2);
  });

  test("channel.k8s.io: plain text error", async () => {
    const r = await wsSession(exec(["sh", "-c", "exit 4"]), ["channel.k8s.io"], () => undefined);
    expect(r.channels.get(3)?.toString()).toMatch(/exit code 4/);
  });

  test("unsupported subprotocol is refused", async () => {
    await expect(
      wsSession(exec(["true"]), ["v9.channel.k8s.io"], () => undefined),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe("attach", () => {
  test("two clients attach at once, detach leaves the process running", async () => {
    const c = backend.startContainer("att", ["sh", "-c", "while read l; do echo got:$l; done"], {
      stdin: true,
    });
    const url1 = server.getAttach({
      containerId: "att",
      tty: false,
      stdin: true,
      stdout: true,
      stderr: false,
    });
    const url2 = server.getAttach({
      containerId: "att",
      tty: false,
      stdin: false,
      stdout: true,
      stderr: false,
    });
    const seen: string[] = ["", ""];
    const s1 = wsSession(url1, ["v5.channel.k8s.io"], (ws) => {
      ws.on("message", (m: Buffer) => {
        if (m[0] === 1) seen[0] += m.subarray(1).toString();
      });
      setTimeout(() => ws.send(wsFrame(0, "one\n")), 300);
      setTimeout(() => ws.close(), 900);
    });
    const s2 = wsSession(url2, ["v5.channel.k8s.io"], (ws) => {
      ws.on("message", (m: Buffer) => {
        if (m[0] === 1) seen[1] += m.subarray(1).toString();
      });
      setTimeout(() => ws.close(), 900);
    });
    await Promise.all([s1, s2]);
    expect(seen[0]).toBe("got:one\n");
    expect(seen[1]).toBe("got:one\n");
    expect(c.child.exitCode).toBeNull();
    c.kill();
  });
});

describe("port-forward", () => {
  test("SPDY: several streams and ports at once, both directions", async () => {
    const url = server.getPortForward({ podSandboxId: "pod", ports: [] });
    const { conn, protocol } = await spdyConnect(url, ["portforward.k8s.io"]);
    expect(protocol).toBe("portforward.k8s.io");
    const req = (body: string): string =>
      `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const results = await Promise.all([
      spdyForward(conn, echoPort, "1", req("a")),
      spdyForward(conn, echoPort, "2", req("bb")),
      spdyForward(conn, freePort, "3", "x"),
    ]);
    expect(results[0]!.data).toContain("echo:POST:a");
    expect(results[1]!.data).toContain("echo:POST:bb");
    expect(results[2]!.data).toBe("");
    expect(results[2]!.error).toMatch(new RegExp(`error forwarding port ${freePort}.*refused`));
    conn.close(true);
  });

  test("SPDY: the client's half-close reaches the port and the answer still comes back", async () => {
    const late = net.createServer({ allowHalfOpen: true }, (sock) => {
      let got = "";
      sock.on("data", (c: Buffer) => (got += c.toString()));
      sock.on("end", () => setTimeout(() => sock.end(`after-eof:${got}`), 300));
    });
    await new Promise<void>((r) => late.listen(0, "127.0.0.1", r));
    try {
      const url = server.getPortForward({ podSandboxId: "pod", ports: [] });
      const { conn } = await spdyConnect(url, ["portforward.k8s.io"]);
      const r = await spdyForward(conn, (late.address() as AddressInfo).port, "9", "question");
      expect(r).toEqual({ data: "after-eof:question", error: "" });
      conn.close(true);
    } finally {
      late.close();
    }
  });

  test("SPDY: a peer without flow control (like Go's spdystream) that never reads stays bounded", async () => {
    const url = exec(["sh", "-c", "head -c 200000000 /dev/zero"], { stderr: false });
    const { conn } = await spdyConnect(url, ["v4.channel.k8s.io"], { flowControl: false });
    const e = await conn.createStream([["streamType", "error"]]);
    const out = await conn.createStream([["streamType", "stdout"]]);
    e.pause();
    out.pause();
    await sleep(1500);
    const before = process.memoryUsage().rss;
    await sleep(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    conn.destroy();
  });

  test("WebSocket: port prefix, data and error channels", async () => {
    const url = server.getPortForward({ podSandboxId: "pod", ports: [] });
    const r = await wsSession(
      `${url}?ports=${echoPort},${freePort}`,
      ["v4.channel.k8s.io"],
      (ws) => {
        const body = "zz";
        ws.send(
          wsFrame(
            0,
            `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n${body}`,
          ),
        );
      },
    );
    const d0 = r.channels.get(0)!;
    expect(d0.readUInt16LE(0)).toBe(echoPort);
    expect(d0.subarray(2).toString()).toContain("echo:POST:zz");
    const e1 = r.channels.get(3)!;
    expect(e1.readUInt16LE(0)).toBe(freePort);
    expect(e1.subarray(2).toString()).toMatch(/refused/);
  });

  test("WebSocket: the ports query is required", async () => {
    const url = server.getPortForward({ podSandboxId: "pod", ports: [] });
    await expect(wsSession(url, ["v4.channel.k8s.io"], () => undefined)).rejects.toMatchObject({
      status: 400,
      body: expect.stringContaining('"ports" is required'),
    });
  });
});

describe("limits", () => {
  test("connections over the limit get a clear 503", async () => {
    const small = new StreamingServer({ backend, maxConnections: 1 });
    await small.start();
    try {
      const url1 = small.getExec({
        containerId: "c",
        cmd: ["sleep", "30"],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: false,
      });
      const first = await spdyConnect(url1, ["v4.channel.k8s.io"]);
      const url2 = small.getExec({
        containerId: "c",
        cmd: ["true"],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: false,
      });
      await expect(spdyConnect(url2, ["v4.channel.k8s.io"])).rejects.toMatchObject({
        status: 503,
        body: expect.stringContaining("too many streaming connections"),
      });
      first.conn.destroy();
    } finally {
      await small.stop();
    }
  });
});
