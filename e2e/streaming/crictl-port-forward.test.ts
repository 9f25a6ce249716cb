/**
 * `crictl port-forward` into a real pod of a real skiff-cri: a pod on a CNI bridge of
 * this file's own, busybox httpd in its container, one crictl session carrying many
 * connections (one after another, several at once, a client that hangs up mid-answer),
 * each answered with the right bytes; a port nothing listens on gets an error on the
 * error stream, and the server keeps the SPDY session (crictl, client-go 0.37, ends its
 * own session on any error message: that is the client's policy, checked as such).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import { spdyConnect, spdyForward } from "../../cri/src/streaming/testing/clients.js";
import { buildImage, buildLayer, busyboxEntries, noise, pushImage } from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  startDaemon,
  tempDirs,
  toolPath,
  type BridgeNetwork,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { crictlArgs } from "./fake-runtime.js";

const WEB_PORT = 8080;
const CLOSED_PORT = 8081;
const pages = ["a", "b", "c", "d", "e"].map((n) => ({
  path: `/${n}`,
  body: Buffer.from(`page ${n} `.repeat(50 + n.charCodeAt(0))),
}));
const big = { path: "/big", body: noise(3 * 1024 * 1024, 7) };

let registry: TestRegistry | undefined;
let dirs: DaemonDirs | undefined;
let network: BridgeNetwork | undefined;
let daemon: RunningDaemon | undefined;
let crictl: string;
let podId = "";
const sessions: ChildProcess[] = [];

const runtime = <T>(method: string, request: object): Promise<T> =>
  rpc<T>(daemon!.clients.runtime, method, request);

function webImage() {
  return buildImage({
    layers: [
      buildLayer(busyboxEntries()),
      buildLayer([
        ...["httpd", "grep"].map((applet) => ({
          name: `bin/${applet}`,
          type: "symlink" as const,
          linkname: "busybox",
        })),
        { name: "www", type: "directory" as const, mode: 0o755 },
        ...[...pages, big].map((p) => ({
          name: `www${p.path}`,
          type: "file" as const,
          body: p.body,
        })),
      ]),
    ],
  });
}

beforeAll(async () => {
  crictl = toolPath("crictl");
  registry = await startRegistry();
  await pushImage(registry, "e2e/web", "v1", webImage());
  const image = `${registry.host}/e2e/web:v1`;
  dirs = tempDirs("skiff-e2e-pf-");
  network = bridgeNetwork(dirs.dir);
  network.install(dirs);
  daemon = await startDaemon(dirs, cniBinArgs);
  await rpc(daemon.clients.image, "PullImage", { image: { image } });
  const logDirectory = join(dirs.dir, "logs");
  mkdirSync(logDirectory);
  const config = {
    metadata: { name: "web", uid: "uid-pf-web", namespace: "skiff-e2e", attempt: 0 },
    log_directory: logDirectory,
    linux: {
      security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
    },
  };
  podId = (await runtime<{ pod_sandbox_id: string }>("RunPodSandbox", { config })).pod_sandbox_id;
  const { container_id } = await runtime<{ container_id: string }>("CreateContainer", {
    pod_sandbox_id: podId,
    config: {
      metadata: { name: "httpd", attempt: 0 },
      image: { image },
      command: ["httpd", "-f", "-p", String(WEB_PORT), "-h", "/www"],
      log_path: "httpd.log",
    },
    sandbox_config: config,
  });
  await runtime("StartContainer", { container_id });
  // Listening (state 0A) on 8080 (1F90, IPv4 or IPv6) in the pod's netns: a refused connection would
  // end crictl's session, so the tests start only once httpd listens.
  for (let i = 0; ; i++) {
    const r = await runtime<{ exit_code: number }>("ExecSync", {
      container_id,
      cmd: ["grep", "-q", ":1F90 [0-9A-F]*:0000 0A", "/proc/net/tcp", "/proc/net/tcp6"],
      timeout: 10,
    });
    if (r.exit_code === 0) break;
    if (i > 200) throw new Error("httpd in the pod did not start listening");
    await sleep(50);
  }
}, 180_000);

afterAll(async () => {
  for (const s of sessions) if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
  try {
    if (daemon && podId) {
      await runtime("StopPodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
      await runtime("RemovePodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
    }
    await daemon?.stop();
  } finally {
    if (dirs) {
      spawnSync("sh", [
        "-c",
        `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount`,
      ]);
    }
    network?.cleanup();
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 120_000);

interface Session {
  process: ChildProcess;
  /** Local port per remote port. */
  ports: Map<number, number>;
  output(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

/** `crictl port-forward POD 0:R...`, once it listens on a local port for each R. */
async function forward(remotePorts: number[]): Promise<Session> {
  const p = spawn(
    crictl,
    crictlArgs(daemon!.dirs.socket, ["port-forward", podId, ...remotePorts.map((r) => `0:${r}`)]),
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: tmpdir() } },
  );
  sessions.push(p);
  let text = "";
  p.stdout.on("data", (b: Buffer) => (text += b.toString()));
  p.stderr.on("data", (b: Buffer) => (text += b.toString()));
  const closed = new Promise<void>((r) => p.once("close", () => r()));
  const session: Session = {
    process: p,
    ports: new Map(),
    output: () => text,
    alive: () => p.exitCode === null && p.signalCode === null,
    stop: async () => {
      if (session.alive()) p.kill("SIGINT");
      await closed;
    },
  };
  for (let i = 0; i < 400 && session.ports.size < remotePorts.length && session.alive(); i++) {
    await sleep(25);
    for (const m of text.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g))
      session.ports.set(Number(m[2]), Number(m[1]));
  }
  if (session.ports.size < remotePorts.length) {
    await session.stop();
    throw new Error(`crictl port-forward did not start:\n${text}`);
  }
  return session;
}

/**
 * GET over a fresh connection; the client reads the whole answer (by Content-Length),
 * then closes its side. `hangUpAfter`: destroy the connection after that many body
 * bytes instead.
 */
function get(
  port: number,
  path: string,
  hangUpAfter?: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    let got = 0;
    let head: { status: number; length: number; bodyStart: number } | undefined;
    s.setTimeout(30_000, () => s.destroy(new Error(`GET ${path}: no answer in 30 s`)));
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (!head) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = all.subarray(0, end).toString();
        head = {
          status: Number(/^HTTP\/1\.\d (\d+)/.exec(text)?.[1] ?? 0),
          length: Number(/^content-length:\s*(\d+)/im.exec(text)?.[1] ?? NaN),
          bodyStart: end + 4,
        };
      }
      const body = got - head.bodyStart;
      if (hangUpAfter !== undefined && body >= hangUpAfter) {
        s.destroy();
        resolve({ status: head.status, body: Buffer.alloc(0) });
      } else if (body >= head.length) {
        s.end();
        resolve({
          status: head.status,
          body: Buffer.concat(chunks).subarray(head.bodyStart, head.bodyStart + head.length),
        });
      }
    });
    s.on("error", reject);
    s.on("close", () => {
      // An answer without Content-Length ends with the connection.
      if (head && Number.isNaN(head.length))
        resolve({ status: head.status, body: Buffer.concat(chunks).subarray(head.bodyStart) });
      reject(new Error(`GET ${path}: closed after ${got} bytes, headers: ${head !== undefined}`));
    });
  });
}

/** Connect, send a line, and wait for the connection to end: the bytes that came back. */
function exchange(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write("hello\n"));
    s.setTimeout(30_000, () => s.destroy(new Error("no end in 30 s")));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => resolve(Buffer.concat(chunks)));
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.on("timeout", () => reject(new Error("no end in 30 s")));
  });
}

describe("crictl port-forward into a pod", () => {
  test("one session carries sequential, concurrent and abandoned connections", async () => {
    const session = await forward([WEB_PORT]);
    try {
      const local = session.ports.get(WEB_PORT)!;
      for (const p of pages) {
        const r = await get(local, p.path);
        expect(r.status).toBe(200);
        expect(r.body.equals(p.body)).toBe(true);
      }
      const all = [...pages, big];
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all(all.map((p) => get(local, p.path)));
        answers.forEach((r, i) => {
          expect(r.status).toBe(200);
          expect(r.body.equals(all[i]!.body)).toBe(true);
        });
      }
      // Clients that hang up in the middle of a large answer, two at once.
      await Promise.all([get(local, big.path, 64 * 1024), get(local, big.path, 1)]);
      const after = await get(local, big.path);
      expect(after.body.equals(big.body)).toBe(true);
      expect((await get(local, "/nope")).status).toBe(404);
      expect(session.alive()).toBe(true);
      // crictl logs its own broken pipes to the hung-up clients; nothing else failed.
      expect(session.output()).not.toMatch(/error occurred forwarding|lost connection/i);
    } finally {
      await session.stop();
    }
  });

  test("a port nothing listens on: an error for that connection, the server keeps the session", async () => {
    const session = await forward([WEB_PORT, CLOSED_PORT]);
    try {
      const local = session.ports.get(WEB_PORT)!;
      expect((await get(local, pages[0]!.path)).body.equals(pages[0]!.body)).toBe(true);
      const refused = await exchange(session.ports.get(CLOSED_PORT)!);
      expect(refused.length).toBe(0);
      for (let i = 0; i < 100 && !/inside namespace/.test(session.output()); i++) await sleep(20);
      expect(session.output()).toMatch(
        new RegExp(`error forwarding port ${CLOSED_PORT} to pod ${podId}.*inside namespace`),
      );
    } finally {
      await session.stop();
    }

    // crictl ends its session on that error (client-go's choice); on the server the
    // SPDY connection lives on: a refused stream pair, then a working one, on one session.
    const { url } = await runtime<{ url: string }>("PortForward", {
      pod_sandbox_id: podId,
      port: [WEB_PORT],
    });
    const { conn } = await spdyConnect(url, ["portforward.k8s.io"]);
    try {
      const request = `GET ${pages[1]!.path} HTTP/1.0\r\n\r\n`;
      const refused = await spdyForward(conn, CLOSED_PORT, "1", "x");
      expect(refused.error).toMatch(/error forwarding port 8081 .*Connection refused/);
      const [a, b] = await Promise.all([
        spdyForward(conn, WEB_PORT, "2", request),
        spdyForward(conn, WEB_PORT, "3", request),
      ]);
      for (const r of [a, b]) {
        expect(r.error).toBe("");
        expect(r.data).toMatch(/^HTTP\/1\.[01] 200/);
        expect(r.data.endsWith(pages[1]!.body.toString())).toBe(true);
      }
      expect(conn.isClosed).toBe(false);
    } finally {
      conn.close(true);
    }
  });
});
