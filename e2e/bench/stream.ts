/**
 * make bench-stream (a script, not a test): the streaming paths of skiff-cri and of
 * Debian's containerd 1.6, driven by crictl (the pinned build), on the same busybox
 * image from the same local registry, one pod and one container on each (pod network
 * on the same CNI bridge), the two runtimes interleaved with alternating order:
 *   - exec latency: `crictl exec -s <id> true` (ExecSync) and `crictl exec <id> true`
 *     (Exec RPC, SPDY upgrade, streams, status), RUNS runs (default 30), median and p90;
 *     crictl's own start-up is in both, alike (`crictl version`, also timed, shows it)
 *   - exec stdout: STREAM_MB (default 100) MB out of `head -c` through `crictl exec`,
 *     BULK_RUNS runs (default 3), MB/s of the median
 *   - port-forward: `crictl port-forward <pod> 0:8080` to busybox httpd in the pod;
 *     the first byte of a fresh connection's HTTP answer (RUNS runs) and the throughput
 *     of a STREAM_MB file served through it (BULK_RUNS runs); one crictl per connection
 *     (see forwardedGet), timed from the connect, once crictl listens
 * Prints both runtimes' figures and skiff-cri's ratio to containerd (time: lower is
 * better; MB/s: higher is better).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import { buildImage, buildLayer, busyboxEntries, type BuiltImage } from "../harness/images.js";
import { toolPath } from "../harness/skiff-cri.js";
import { crictlArgs } from "../streaming/fake-runtime.js";
import { printTable, ratio, stats } from "./measure.js";
import { podConfig, startPair, type Pair, type Runtime } from "./pair.js";

const RUNS = Number(process.env.RUNS ?? 30);
const BULK_RUNS = Number(process.env.BULK_RUNS ?? 3);
const MB = 1_000_000;
const SIZE = Number(process.env.STREAM_MB ?? 100) * MB;
const PORT = 8080;

function streamImage(): BuiltImage {
  return buildImage({
    layers: [
      buildLayer(busyboxEntries()),
      buildLayer(
        ["head", "httpd", "mkdir", "test"].map((applet) => ({
          name: `bin/${applet}`,
          type: "symlink" as const,
          linkname: "busybox",
        })),
      ),
    ],
  });
}

interface Target {
  runtime: Runtime;
  pod: string;
  container: string;
  forward?: ChildProcess;
  samples: Record<string, number[]>;
}

function runCrictl(
  crictl: string,
  socket: string,
  args: string[],
): Promise<{ code: number | null; bytes: number; ms: number; stderr: string }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const p = spawn(crictl, crictlArgs(socket, args), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent" },
    });
    let bytes = 0;
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (bytes += c.length));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) =>
      resolve({ code, bytes, ms: Number(process.hrtime.bigint() - start) / 1e6, stderr }),
    );
  });
}

async function startTarget(runtime: Runtime, image: string, logs: string): Promise<Target> {
  const { runtime: client } = runtime.clients;
  const logDirectory = join(logs, runtime.name);
  mkdirSync(logDirectory, { recursive: true });
  const config = podConfig(`stream-${runtime.name}`, logDirectory);
  const { pod_sandbox_id } = await rpc<{ pod_sandbox_id: string }>(client, "RunPodSandbox", {
    config,
  });
  const script =
    `mkdir -p /www && head -c ${SIZE} /dev/zero > /www/bulk && echo pong > /www/ping && ` +
    `exec httpd -f -p ${PORT} -h /www`;
  const { container_id } = await rpc<{ container_id: string }>(client, "CreateContainer", {
    pod_sandbox_id,
    config: {
      metadata: { name: "web", attempt: 0 },
      image: { image },
      command: ["/bin/sh", "-c", script],
      log_path: "web.log",
    },
    sandbox_config: config,
  });
  await rpc(client, "StartContainer", { container_id });
  for (let i = 0; ; i++) {
    const r = await rpc<{ exit_code: number }>(client, "ExecSync", {
      container_id,
      cmd: ["/bin/sh", "-c", "test -f /www/ping"],
      timeout: 10,
    });
    if (r.exit_code === 0) break;
    if (i > 200) throw new Error(`${runtime.name}: the web container did not get ready`);
    await sleep(50);
  }
  return { runtime, pod: pod_sandbox_id, container: container_id, samples: {} };
}

/**
 * `crictl port-forward <pod> 0:8080`, ready: its SPDY connection to the streaming server
 * is up and it listens locally. Returns the local port and crictl's output so far.
 */
async function startForward(
  crictl: string,
  target: Target,
): Promise<{ port: number; output: () => string }> {
  const pf = spawn(
    crictl,
    crictlArgs(target.runtime.socket, ["port-forward", target.pod, `0:${PORT}`]),
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" },
    },
  );
  target.forward = pf;
  let text = "";
  pf.stdout.on("data", (b: Buffer) => (text += b.toString()));
  pf.stderr.on("data", (b: Buffer) => (text += b.toString()));
  for (let i = 0; i < 400; i++) {
    const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(text);
    if (m) return { port: Number(m[1]), output: () => text };
    if (pf.exitCode !== null) break;
    await sleep(10);
  }
  throw new Error(`${target.runtime.name}: crictl port-forward did not start: ${text}`);
}

async function stopForward(target: Target): Promise<void> {
  const pf = target.forward;
  target.forward = undefined;
  if (!pf || pf.exitCode !== null || pf.signalCode !== null) return;
  const closed = new Promise((r) => pf.once("close", r));
  pf.kill("SIGINT");
  await closed;
}

/**
 * One HTTP/1.1 GET on a fresh connection: ms to the first byte of the answer, ms to its
 * last byte (by Content-Length), body bytes. The client closes the connection once the
 * answer is complete, as browsers and kubectl users' clients do.
 */
function httpGet(
  port: number,
  path: string,
): Promise<{ first: number; total: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const ms = (): number => Number(process.hrtime.bigint() - start) / 1e6;
    let first = 0;
    let bytes = 0;
    let want = -1;
    let head = Buffer.alloc(0);
    let done: { first: number; total: number; bytes: number } | undefined;
    const s = net.connect(port, "127.0.0.1", () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    );
    const finish = (): void => {
      done = { first, total: ms(), bytes };
      s.end();
    };
    s.on("data", (d: Buffer) => {
      if (!first) first = ms();
      if (want >= 0) {
        bytes += d.length;
      } else {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = /^content-length:\s*(\d+)/im.exec(head.subarray(0, end).toString());
        want = Number(length?.[1] ?? NaN);
        bytes = head.length - end - 4;
      }
      if (bytes >= want && !done) finish();
    });
    s.on("close", () =>
      done ? resolve(done) : reject(new Error(`connection closed after ${bytes} body bytes`)),
    );
    s.on("error", reject);
  });
}

/**
 * One GET through a fresh `crictl port-forward` (each connection gets its own crictl,
 * for both runtimes alike; crictl's start-up is not in the figures).
 */
async function forwardedGet(
  crictl: string,
  t: Target,
  path: string,
): Promise<Awaited<ReturnType<typeof httpGet>>> {
  const forward = await startForward(crictl, t);
  try {
    return await httpGet(forward.port, path);
  } catch (err) {
    throw new Error(
      `${t.runtime.name}: GET ${path} through crictl port-forward: ${(err as Error).message}\n` +
        forward.output(),
      { cause: err },
    );
  } finally {
    await stopForward(t);
  }
}

function add(target: Target, key: string, value: number): void {
  (target.samples[key] ??= []).push(value);
}

async function main(): Promise<void> {
  const started = Date.now();
  const crictl = toolPath("crictl");
  let pair: Pair | undefined;
  const targets: Target[] = [];
  try {
    pair = await startPair({ stream: streamImage() });
    for (const r of pair.runtimes) targets.push(await startTarget(r, pair.refs.stream!, pair.work));
    console.log(
      pair.runtimes.map((r) => `${r.name} ${r.version}`).join(" vs ") +
        `; crictl ${crictl}; ${RUNS} latency runs, ${BULK_RUNS} bulk runs of ${SIZE / MB} MB, interleaved`,
    );
    const ordered = (i: number): Target[] => (i % 2 === 0 ? targets : [...targets].reverse());

    for (let i = 0; i <= RUNS; i++) {
      for (const t of ordered(i)) {
        for (const [key, args] of [
          // crictl's own start and one round trip, which every crictl call pays
          ["crictl version (ms)", ["version"]],
          ["crictl exec -s true (ms)", ["exec", "-s", t.container, "true"]],
          ["crictl exec true (ms)", ["exec", t.container, "true"]],
        ] as const) {
          // let the previous call's aftermath (a runtime's exec clean-up) pass first,
          // so it is not timed as part of the next call, of either runtime
          await sleep(100);
          const r = await runCrictl(crictl, t.runtime.socket, [...args]);
          if (r.code !== 0)
            throw new Error(`${t.runtime.name}: crictl ${args.join(" ")}: ${r.stderr}`);
          if (i > 0) add(t, key, r.ms);
        }
      }
    }
    for (let i = 0; i < BULK_RUNS; i++) {
      for (const t of ordered(i)) {
        const r = await runCrictl(crictl, t.runtime.socket, [
          "exec",
          t.container,
          "head",
          "-c",
          String(SIZE),
          "/dev/zero",
        ]);
        if (r.code !== 0 || r.bytes !== SIZE)
          throw new Error(
            `${t.runtime.name}: exec stdout got ${r.bytes} of ${SIZE} bytes: ${r.stderr}`,
          );
        add(t, "exec stdout (MB/s)", SIZE / MB / (r.ms / 1000));
      }
    }

    for (let i = 0; i <= RUNS; i++) {
      for (const t of ordered(i)) {
        const r = await forwardedGet(crictl, t, "/ping");
        if (r.bytes !== 5) throw new Error(`${t.runtime.name}: /ping answered ${r.bytes} bytes`);
        if (i > 0) add(t, "port-forward first byte (ms)", r.first);
      }
    }
    for (let i = 0; i < BULK_RUNS; i++) {
      for (const t of ordered(i)) {
        const r = await forwardedGet(crictl, t, "/bulk");
        if (r.bytes !== SIZE)
          throw new Error(`${t.runtime.name}: port-forward got ${r.bytes} of ${SIZE} bytes`);
        add(t, "port-forward (MB/s)", SIZE / MB / (r.total / 1000));
      }
    }

    const [skiff, ctd] = targets as [Target, Target];
    const rows = Object.keys(skiff.samples).map((key) => {
      const a = stats(skiff.samples[key]!);
      const b = stats(ctd.samples[key] ?? []);
      return [
        key,
        a.median.toFixed(1),
        a.p90.toFixed(1),
        b.median.toFixed(1),
        b.p90.toFixed(1),
        ratio(a.median, b.median),
      ];
    });
    console.log("");
    printTable(["what", "skiff med", "skiff p90", "ctd med", "ctd p90", "skiff÷ctd"], rows);
  } finally {
    for (const t of targets) await stopForward(t);
    await pair?.stop();
    console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

await main();
