/**
 * make bench-cri (a script, not a test): the CRI RuntimeService of skiff-cri and of
 * Debian's containerd 1.6 (CRI plugin, runc v2 shim, overlayfs), through the same
 * in-process gRPC client, the same CNI conflist (one bridge network, Debian's plugins)
 * and the same busybox image from the same local registry:
 *   1. lifecycle, RUNS runs (default 10) after one warm-up, the two runtimes interleaved
 *      with alternating order: RunPodSandbox, CreateContainer, StartContainer,
 *      StopContainer (timeout 10 s; the container traps SIGTERM and exits), RemoveContainer,
 *      StopPodSandbox, RemovePodSandbox, each timed alone; median and p90 per RPC
 *   2. COUNT pods (default 100) started at once, each RunPodSandbox → CreateContainer →
 *      StartContainer: wall time and per-pod latency; skiff-cri's RSS with them running;
 *      then all removed at once (timed)
 *   3. ListContainers with 100 and then 1,000 containers (created, not started: 1,000
 *      running containers would not fit 2 cores in a few minutes) in 10 pods, each with
 *      4 labels and 4 annotations: LIST_CALLS calls (default 200) one after another,
 *      median, p90, p99
 * and skiff-cri's idle RSS (image pulled, no pods). Targets: pod-and-container start
 * (the three RPCs of 1.) at most 0.5x containerd's; ListContainers p99 under 5 ms at
 * 1,000 containers; idle RSS under 80 MiB.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { rpc, type SkiffClients } from "../../cri/src/cli/client.js";
import { removePods } from "../harness/containerd.js";
import { busyboxImage } from "../harness/images.js";
import { memoryOf, mib, MiB, printTable, ratio, stats } from "./measure.js";
import { podConfig as basePodConfig, startPair, type Pair } from "./pair.js";

const RUNS = Number(process.env.RUNS ?? 10);
const COUNT = Number(process.env.COUNT ?? 100);
const LIST_CALLS = Number(process.env.LIST_CALLS ?? 200);
const LIST_MAX = Number(process.env.LIST_MAX ?? 1000);
const LIST_PODS = 10;

const lifecycle = [
  "RunPodSandbox",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
  "StopPodSandbox",
  "RemovePodSandbox",
] as const;

interface Subject {
  name: string;
  pid: number;
  clients: SkiffClients;
  logs: string;
  samples: Record<string, number[]>;
}

const now = (): bigint => process.hrtime.bigint();
const since = (t: bigint): number => Number(now() - t) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function podConfig(subject: Subject, name: string): Record<string, unknown> {
  const logDirectory = join(subject.logs, name);
  mkdirSync(logDirectory, { recursive: true });
  return basePodConfig(name, logDirectory);
}

function containerConfig(image: string, name: string, extra: object = {}): Record<string, unknown> {
  return {
    metadata: { name, attempt: 0 },
    image: { image },
    // exits on SIGTERM (the trap interrupts `wait`), so StopContainer measures a clean stop
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
    log_path: `${name}.log`,
    ...extra,
  };
}

async function timed<T>(
  subject: Subject,
  method: string,
  request: object,
  count: boolean,
): Promise<T> {
  const t = now();
  const client = subject.clients.runtime;
  const response = await rpc<T>(client, method, request, 120_000);
  if (count) (subject.samples[method] ??= []).push(since(t));
  return response;
}

async function lifecycleOnce(
  subject: Subject,
  image: string,
  run: number,
  count: boolean,
): Promise<void> {
  const name = `life-${run}`;
  const config = podConfig(subject, name);
  const t = now();
  const { pod_sandbox_id } = await timed<{ pod_sandbox_id: string }>(
    subject,
    "RunPodSandbox",
    { config },
    count,
  );
  const { container_id } = await timed<{ container_id: string }>(
    subject,
    "CreateContainer",
    { pod_sandbox_id, config: containerConfig(image, "c"), sandbox_config: config },
    count,
  );
  await timed(subject, "StartContainer", { container_id }, count);
  if (count) (subject.samples["pod+container start"] ??= []).push(since(t));
  await sleep(200); // let sh install its trap
  await timed(subject, "StopContainer", { container_id, timeout: 10 }, count);
  await timed(subject, "RemoveContainer", { container_id }, count);
  await timed(subject, "StopPodSandbox", { pod_sandbox_id }, count);
  await timed(subject, "RemovePodSandbox", { pod_sandbox_id }, count);
}

interface ManyResult {
  startWallMs: number;
  perPod: number[];
  failures: string[];
  rssWith: number;
  removeWallMs: number;
}

/**
 * COUNT pods at once. A pod whose calls fail is counted, not fatal; whatever each one
 * made is removed after every call has settled (so none is still being created then).
 */
async function manyPods(subject: Subject, image: string): Promise<ManyResult> {
  const { runtime } = subject.clients;
  const t = now();
  const perPod: number[] = [];
  const failures: string[] = [];
  const made = await Promise.all(
    Array.from({ length: COUNT }, async (_, i) => {
      const config = podConfig(subject, `many-${i}`);
      const start = now();
      const ids: { pod?: string; container?: string } = {};
      try {
        ids.pod = (
          await rpc<{ pod_sandbox_id: string }>(runtime, "RunPodSandbox", { config }, 300_000)
        ).pod_sandbox_id;
        ids.container = (
          await rpc<{ container_id: string }>(
            runtime,
            "CreateContainer",
            {
              pod_sandbox_id: ids.pod,
              config: containerConfig(image, "c"),
              sandbox_config: config,
            },
            300_000,
          )
        ).container_id;
        await rpc(runtime, "StartContainer", { container_id: ids.container }, 300_000);
        perPod.push(since(start));
      } catch (err) {
        failures.push((err as Error).message);
      }
      return ids;
    }),
  );
  const startWallMs = since(t);
  await sleep(1000);
  const rssWith = memoryOf(subject.pid).rss;
  const r = now();
  await settleAll(
    made.map(async ({ pod, container }) => {
      const quiet = (): undefined => undefined;
      if (container) {
        await rpc(runtime, "StopContainer", { container_id: container, timeout: 10 }, 300_000);
        await rpc(runtime, "RemoveContainer", { container_id: container }, 300_000);
      }
      if (pod) {
        await rpc(runtime, "StopPodSandbox", { pod_sandbox_id: pod }, 300_000).catch(quiet);
        await rpc(runtime, "RemovePodSandbox", { pod_sandbox_id: pod }, 300_000).catch(quiet);
      }
    }),
  );
  return { startWallMs, perPod, failures, rssWith, removeWallMs: since(r) };
}

interface ListResult {
  containers: number;
  createMs: number;
  /** ms per ListContainers, the answer decoded by the client */
  list: number[];
  /** ms per ListContainers, the answer's bytes only (listRaw) */
  raw: number[];
  rss: number;
}

/** Creates containers up to each total in `totals`, timing LIST_CALLS ListContainers at each. */
async function listContainers(
  subject: Subject,
  image: string,
  totals: number[],
): Promise<ListResult[]> {
  const { runtime } = subject.clients;
  const pods: { id: string; config: Record<string, unknown> }[] = [];
  for (let p = 0; p < LIST_PODS; p++) {
    const config = podConfig(subject, `list-${p}`);
    const { pod_sandbox_id } = await rpc<{ pod_sandbox_id: string }>(runtime, "RunPodSandbox", {
      config,
    });
    pods.push({ id: pod_sandbox_id, config });
  }
  const results: ListResult[] = [];
  let made = 0;
  for (const total of totals) {
    const t = now();
    const indexes = Array.from({ length: total - made }, (_, k) => made + k);
    for (let i = 0; i < indexes.length; i += 8) {
      await settleAll(
        indexes.slice(i, i + 8).map((n) => {
          const pod = pods[n % LIST_PODS]!;
          const extra = {
            labels: {
              app: `app-${n % 37}`,
              tier: n % 2 ? "backend" : "frontend",
              "bench.skiff.dev/index": String(n),
              "io.kubernetes.container.name": `c${n}`,
            },
            annotations: {
              "io.kubernetes.container.hash": (n * 2654435761).toString(16),
              "io.kubernetes.container.restartCount": "0",
              "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
              "bench.skiff.dev/note": `container ${n} of the ListContainers benchmark`,
            },
          };
          return rpc(runtime, "CreateContainer", {
            pod_sandbox_id: pod.id,
            config: containerConfig(image, `c${n}`, extra),
            sandbox_config: pod.config,
          });
        }),
      );
    }
    const createMs = since(t);
    made = total;
    const seen = await rpc<{ containers: unknown[] }>(runtime, "ListContainers", {});
    if (seen.containers.length !== total)
      throw new Error(`${subject.name}: ListContainers saw ${seen.containers.length} of ${total}`);
    const list: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < LIST_CALLS; i++) {
      let s = now();
      await rpc(runtime, "ListContainers", {});
      list.push(since(s));
      s = now();
      await listRaw(runtime);
      raw.push(since(s));
    }
    results.push({ containers: total, createMs, list, raw, rss: memoryOf(subject.pid).rss });
  }
  const r = now();
  await removePods(subject.clients);
  console.log(
    `  ${subject.name}: removed ${made} containers and their pods in ${(since(r) / 1000).toFixed(1)} s`,
  );
  return results;
}

/**
 * ListContainers whose answer is not decoded (its bytes are counted): the runtime's time
 * and the transport's, without this Node client's decoding of every container and the
 * garbage collections that brings, which land on either runtime's figures alike.
 */
function listRaw(client: SkiffClients["runtime"]): Promise<number> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/runtime.v1.RuntimeService/ListContainers",
      () => Buffer.alloc(0),
      (bytes: Buffer) => bytes.length,
      {},
      { deadline: Date.now() + 60_000 },
      (err, length) => (err ? reject(err) : resolve(length ?? 0)),
    );
  });
}

/** Like Promise.all, but rejects only after every promise has settled. */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

async function main(): Promise<void> {
  const started = Date.now();
  let pair: Pair | undefined;
  try {
    pair = await startPair({ busybox: busyboxImage() });
    const image = pair.refs.busybox!;
    const subjects: Subject[] = pair.runtimes.map((r) => ({
      name: r.name,
      pid: r.pid,
      clients: r.clients,
      logs: join(pair!.work, `${r.name}-logs`),
      samples: {},
    }));
    await sleep(2000);
    const idle = subjects.map((s) => memoryOf(s.pid).rss);
    const { network } = pair;
    console.log(
      pair.runtimes.map((r) => `${r.name} ${r.version}`).join(" vs ") +
        `; image ${image}; CNI ${network.name} (bridge ${network.bridge}, ${network.subnet})`,
    );

    // 1. lifecycle
    for (let run = 0; run <= RUNS; run++) {
      const order = run % 2 === 0 ? subjects : [...subjects].reverse();
      for (const s of order) await lifecycleOnce(s, image, run, run > 0);
    }
    console.log(`\n1. Pod and container lifecycle, ${RUNS} interleaved runs (after 1 warm-up), ms`);
    const rows = [...lifecycle, "pod+container start"].map((method) => {
      const [a, b] = subjects.map((s) => stats(s.samples[method] ?? []));
      return [
        method,
        a!.median.toFixed(1),
        a!.p90.toFixed(1),
        b!.median.toFixed(1),
        b!.p90.toFixed(1),
        ratio(a!.median, b!.median),
      ];
    });
    printTable(["RPC", "skiff med", "skiff p90", "ctd med", "ctd p90", "skiff÷ctd"], rows);

    // 2. many pods at once
    console.log(
      `\n2. ${COUNT} pods started concurrently (RunPodSandbox → CreateContainer → StartContainer)`,
    );
    const many: ManyResult[] = [];
    for (const s of subjects) many.push(await manyPods(s, image));
    printTable(
      [
        "runtime",
        "started",
        "all started s",
        "per-pod med ms",
        "per-pod p90 ms",
        "all removed s",
        "RSS MiB",
      ],
      subjects.map((s, i) => {
        const m = many[i]!;
        const per = stats(m.perPod);
        return [
          s.name,
          `${m.perPod.length}/${COUNT}`,
          (m.startWallMs / 1000).toFixed(2),
          per.median.toFixed(0),
          per.p90.toFixed(0),
          (m.removeWallMs / 1000).toFixed(2),
          mib(m.rssWith),
        ];
      }),
    );
    subjects.forEach((s, i) => {
      const f = many[i]!.failures;
      if (f.length) console.log(`  ${s.name}: ${f.length} pods failed, e.g. ${f[0]}`);
    });
    console.log(
      `  ratio skiff÷containerd, all started: ${ratio(many[0]!.startWallMs, many[1]!.startWallMs)}` +
        ` (containerd RSS is the daemon only, not its ${COUNT} shims)`,
    );

    // 3. ListContainers
    console.log(
      `\n3. ListContainers, ${LIST_CALLS} sequential calls; containers created (not started) in ` +
        `${LIST_PODS} pods, 4 labels + 4 annotations each; each call is timed decoded and ` +
        `undecoded (the answer's bytes only: without this client's decoding and its GC)`,
    );
    const lists: ListResult[][] = [];
    for (const s of subjects) lists.push(await listContainers(s, image, [100, LIST_MAX]));
    const listRows: (string | number)[][] = [];
    for (let k = 0; k < 2; k++) {
      subjects.forEach((s, i) => {
        const r = lists[i]![k]!;
        const st = stats(r.list);
        const raw = stats(r.raw);
        listRows.push([
          s.name,
          r.containers,
          st.median.toFixed(2),
          st.p90.toFixed(2),
          st.p99.toFixed(2),
          raw.median.toFixed(2),
          raw.p99.toFixed(2),
          (r.createMs / 1000).toFixed(1),
          mib(r.rss),
        ]);
      });
    }
    printTable(
      [
        "runtime",
        "containers",
        "med ms",
        "p90 ms",
        "p99 ms",
        "undecoded med",
        "undecoded p99",
        "create s",
        "RSS MiB",
      ],
      listRows,
    );

    const idleAfter = memoryOf(subjects[0]!.pid);
    console.log(
      `\nRSS: skiff-cri idle ${mib(idle[0]!)} MiB (image pulled, no pods), idle after the runs ` +
        `${mib(idleAfter.rss)} MiB, with ${COUNT} pods ${mib(many[0]!.rssWith)} MiB, VmHWM ` +
        `${mib(idleAfter.hwm)} MiB; containerd idle ${mib(idle[1]!)} MiB, with ${COUNT} pods ` +
        `${mib(many[1]!.rssWith)} MiB`,
    );
    const start = subjects.map((s) => stats(s.samples["pod+container start"] ?? []).median);
    const p99 = stats(lists[0]![1]!.list).p99;
    const rawP99 = stats(lists[0]![1]!.raw).p99;
    const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");
    console.log(
      `targets: pod+container start ≤ 0.5x containerd: ${ratio(start[0]!, start[1]!)}x ` +
        `${verdict(start[0]! / start[1]! <= 0.5)}; ListContainers p99 < 5 ms at ${LIST_MAX}: ` +
        `${p99.toFixed(2)} ms ${verdict(p99 < 5)} (undecoded: ${rawP99.toFixed(2)} ms ` +
        `${verdict(rawP99 < 5)}); idle RSS < 80 MiB: ${mib(idle[0]!)} MiB ` +
        `${verdict(idle[0]! < 80 * MiB)}`,
    );
  } finally {
    await pair?.stop();
    console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

await main();
