/**
 * The native port-forward helper (cri/native/portforward.c, driven through a test
 * main in cri/native/tests/portforward-main.c) inside a real network namespace made
 * with `ip netns`: the socket it hands over is connected inside the namespace and
 * half-closes both ways, the refusal exit code and message, no IPC channel, and the
 * whole path from a SPDY client through the streaming server into the namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as net from "node:net";
import { HostProcessBackend } from "./host-process-backend.js";
import { connectThroughHelper } from "./portforward-helper.js";
import { StreamingServer } from "./server.js";
import { spdyConnect, spdyForward } from "./testing/clients.js";

const repo = resolve(import.meta.dirname, "../../../..");
const ns = `skiff-pf-${process.pid}`;
const nsPath = `/run/netns/${ns}`;
const port = 18080;
let dir: string;
let helper: string;
let server: ChildProcess | undefined;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

function runHelper(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(helper, args, { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    p.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("message", (_m, handle) => (handle as unknown as { close?: () => void })?.close?.());
    p.on("error", () => undefined);
    p.on("close", (code) => res({ code, stderr }));
  });
}

/** Send `input`, half-close, read until the other side ends. */
function exchange(sock: net.Socket, input: string): Promise<string> {
  return new Promise((res, rej) => {
    let out = "";
    sock.on("data", (c: Buffer) => (out += c.toString()));
    sock.on("end", () => res(out));
    sock.on("error", rej);
    sock.end(input);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "skiff-pf-"));
  helper = join(dir, "portforward-test");
  sh("gcc", [
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-D_GNU_SOURCE",
    "-O2",
    "-o",
    helper,
    join(repo, "cri/native/portforward.c"),
    join(repo, "cri/native/tests/portforward-main.c"),
  ]);
  sh("ip", ["netns", "add", ns]);
  sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
  // Answers only after the client half-closes: proves EOF crosses the relay.
  const code =
    `require("net").createServer({allowHalfOpen:true},(s)=>{let d="";s.on("data",(c)=>d+=c);` +
    `s.on("end",()=>s.end("got:"+d))}).listen(${port},"127.0.0.1",()=>console.log("ready"))`;
  server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((r) => server!.stdout!.once("data", () => r()));
});

afterAll(async () => {
  server?.kill("SIGKILL");
  await sleep(50);
  spawnSync("ip", ["netns", "delete", ns]);
  rmSync(dir, { recursive: true, force: true });
});

describe("skiff-shim port-forward", () => {
  test("hands over a socket connected inside the namespace, half-close both ways", async () => {
    const sock = await connectThroughHelper(
      helper,
      [nsPath, String(port)],
      new AbortController().signal,
    );
    expect(sock).toBeDefined();
    expect(await exchange(sock!, "hello")).toBe("got:hello");
    sock!.destroy();
  });

  test("the host's loopback is not the pod's: nothing listens there", async () => {
    const r = await runHelper(["-", String(port)]);
    expect(r.code).toBe(2);
  });

  test("nothing listening: exit 2 with a message, which connectThroughHelper rejects with", async () => {
    const r = await runHelper([nsPath, "18081"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /failed to connect to localhost:18081 inside namespace .*Connection refused/,
    );
    await expect(
      connectThroughHelper(helper, [nsPath, "18081"], new AbortController().signal),
    ).rejects.toThrow(/failed to connect to localhost:18081 inside namespace/);
  });

  test("bad arguments or no IPC channel exit 1", async () => {
    expect((await runHelper([nsPath, "0"])).code).toBe(1);
    expect((await runHelper(["/nonexistent/netns", "80"])).code).toBe(1);
    const bare = spawnSync(helper, [nsPath, String(port)], { encoding: "utf8" });
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/no Node IPC channel/);
  });

  test("an aborted connect resolves to nothing", async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await connectThroughHelper(helper, [nsPath, String(port)], ac.signal)).toBeUndefined();
  });

  test("a SPDY client reaches the namespace through the streaming server", async () => {
    const backend = new HostProcessBackend({
      portForwardHelper: { command: helper, args: [nsPath] },
    });
    const streaming = new StreamingServer({ backend });
    await streaming.start();
    try {
      const { conn } = await spdyConnect(
        streaming.getPortForward({ podSandboxId: "p", ports: [port] }),
        ["portforward.k8s.io"],
      );
      const [a, b, refused] = await Promise.all([
        spdyForward(conn, port, "1", "one"),
        spdyForward(conn, port, "2", "two"),
        spdyForward(conn, 18081, "3", "three"),
      ]);
      expect(a).toEqual({ data: "got:one", error: "" });
      expect(b).toEqual({ data: "got:two", error: "" });
      expect(refused.error).toMatch(/error forwarding port 18081 .*inside namespace/);
      conn.close(true);
    } finally {
      await streaming.stop();
    }
  });
});
