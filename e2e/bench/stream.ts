/**
 * Streaming benchmark (`make bench-stream`, not run by tests): the streaming server
 * with the host-process backend behind a tiny RuntimeService, driven by crictl.
 *   - exec latency: `crictl exec -s <id> true` (ExecSync) and `crictl exec <id> true`
 *     (the streaming path: Exec RPC, SPDY upgrade, status), median and p90 of RUNS
 *   - exec stdout throughput: 100 MB out of `head -c` through `crictl exec`, MB/s
 *   - port-forward: throughput of 100 MB from a local TCP server through
 *     `crictl port-forward`, and the latency of a fresh connection's first byte
 * containerd's figures come from the same script against its socket later.
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { toolPath } from "../harness/skiff-cri.js";
import { crictlArgs, startFakeRuntime } from "../streaming/fake-runtime.js";

const RUNS = Number(process.env.RUNS ?? 30);
const MB = 1_000_000;
const SIZE = Number(process.env.STREAM_MB ?? 100) * MB;

function runCount(
  cmd: string,
  args: string[],
): Promise<{ code: number | null; bytes: number; ms: number }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const p = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, HOME: tmpdir() },
    });
    let bytes = 0;
    p.stdout.on("data", (c: Buffer) => (bytes += c.length));
    p.on("close", (code) =>
      resolve({ code, bytes, ms: Number(process.hrtime.bigint() - start) / 1e6 }),
    );
  });
}

function stats(xs: number[]): { median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9) };
}

async function main(): Promise<void> {
  const crictl = toolPath("crictl");
  const rt = await startFakeRuntime();
  const c = (args: string[]): string[] => crictlArgs(rt.socket, args);
  const results: Record<string, unknown> = {};
  try {
    for (const [name, args] of [
      ["exec_sync_true_ms", ["exec", "-s", "bench", "true"]],
      ["exec_stream_true_ms", ["exec", "bench", "true"]],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await runCount(crictl, c([...args]));
        if (r.code !== 0) throw new Error(`crictl ${args.join(" ")} exited ${r.code}`);
        times.push(r.ms);
      }
      results[name] = stats(times);
    }

    const out = await runCount(
      crictl,
      c(["exec", "bench", "head", "-c", String(SIZE), "/dev/zero"]),
    );
    if (out.bytes !== SIZE) throw new Error(`exec stdout: got ${out.bytes} of ${SIZE} bytes`);
    results.exec_stdout_MBps = +(SIZE / MB / (out.ms / 1000)).toFixed(1);

    const payload = Buffer.alloc(1024 * 1024, 120);
    const source = net.createServer((s) => {
      s.once("data", (d: Buffer) => {
        if (d.toString().startsWith("bulk")) {
          let left = SIZE;
          const pump = (): void => {
            while (left > 0) {
              const n = Math.min(left, payload.length);
              left -= n;
              if (!s.write(payload.subarray(0, n))) return void s.once("drain", pump);
            }
            s.end();
          };
          pump();
        } else s.end("pong");
      });
    });
    await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
    const sourcePort = (source.address() as AddressInfo).port;
    const pf = spawn(crictl, c(["port-forward", "pod", `0:${sourcePort}`]), {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let local = 0;
    let text = "";
    pf.stdout.on("data", (b: Buffer) => (text += b.toString()));
    for (let i = 0; i < 200 && local === 0; i++) {
      await sleep(25);
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) local = Number(m[1]);
    }
    if (!local) throw new Error("crictl port-forward did not start");
    const connectOnce = (msg: string): Promise<{ ms: number; bytes: number }> =>
      new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        let first = 0;
        let bytes = 0;
        const s = net.connect(local, "127.0.0.1", () => s.write(msg));
        s.on("data", (d: Buffer) => {
          if (!first) first = Number(process.hrtime.bigint() - start) / 1e6;
          bytes += d.length;
        });
        s.on("end", () =>
          resolve({
            ms: msg === "ping" ? first : Number(process.hrtime.bigint() - start) / 1e6,
            bytes,
          }),
        );
        s.on("error", reject);
      });
    const lat: number[] = [];
    for (let i = 0; i < RUNS; i++) lat.push((await connectOnce("ping")).ms);
    results.portforward_connect_first_byte_ms = stats(lat);
    const bulk = await connectOnce("bulk");
    if (bulk.bytes !== SIZE) throw new Error(`port-forward: got ${bulk.bytes} of ${SIZE} bytes`);
    results.portforward_MBps = +(SIZE / MB / (bulk.ms / 1000)).toFixed(1);
    pf.kill("SIGINT");
    source.close();
  } finally {
    await rt.close();
  }
  console.log(
    JSON.stringify({ bench: "stream", backend: "host-process", runs: RUNS, ...results }, null, 2),
  );
}

await main();
