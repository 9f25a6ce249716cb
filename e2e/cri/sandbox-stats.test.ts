/**
 * Pod stats through a real skiff-cri, as kubelet's CRI stats provider reads them
 * (PodAndContainerStatsFromCRI): a pod on a CNI bridge whose container fills 16 MiB of
 * its /dev/shm, sends a packet to the bridge and then burns CPU; a host-network pod
 * beside it. PodSandboxStats, ListPodSandboxStats (filters), StreamPodSandboxes and
 * StreamPodSandboxStats.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { status as grpcStatus } from "@grpc/grpc-js";
import { mkdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import { busyboxImage, pushImage } from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  startDaemon,
  tempDirs,
  type BridgeNetwork,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { codeOf, forceCleanup, listPods, podConfig, runPod } from "./sandbox-helpers.js";

interface U64 {
  value: string;
}
interface Iface {
  name: string;
  rx_bytes: U64 | null;
  rx_errors: U64 | null;
  tx_bytes: U64 | null;
  tx_errors: U64 | null;
}
interface CStats {
  attributes: { id: string; metadata: { name: string } };
  cpu: { usage_core_nano_seconds: U64 | null; usage_nano_cores: U64 | null } | null;
  memory: { working_set_bytes: U64 | null } | null;
}
interface PodStats {
  attributes: {
    id: string;
    metadata: { name: string; uid: string; namespace: string };
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  linux: {
    cpu: { timestamp: string; usage_core_nano_seconds: U64 | null; usage_nano_cores: U64 | null };
    memory: {
      working_set_bytes: U64 | null;
      usage_bytes: U64 | null;
      rss_bytes: U64 | null;
      page_faults: U64 | null;
    } | null;
    network: { default_interface: Iface | null; interfaces: Iface[] } | null;
    process: { process_count: U64 | null } | null;
    containers: CStats[];
  } | null;
  windows: unknown;
}

const MiB = 1024 * 1024;
let registry: TestRegistry;
let dirs: DaemonDirs;
let net: BridgeNetwork;
let daemon: RunningDaemon;
let image: string;
let bridged: string;
let burner: string;
let hosted: string;

const call = <T>(method: string, request: object) =>
  rpc<T>(daemon.clients.runtime, method, request, 60_000);
const n = (v: U64 | null | undefined): number => Number(v?.value ?? NaN);

const podStats = async (id: string) =>
  (await call<{ stats: PodStats }>("PodSandboxStats", { pod_sandbox_id: id })).stats;
const listStats = async (filter: object | null = null) =>
  (await call<{ stats: PodStats[] }>("ListPodSandboxStats", filter ? { filter } : {})).stats;

/** Every item of a server stream's messages' `field`, once the stream ends. */
function streamAll<T>(method: string, request: object, field: string): Promise<T[]> {
  const client = daemon.clients.runtime as unknown as Record<
    string,
    (r: object, o: object) => NodeJS.EventEmitter
  >;
  const stream = client[method]!.call(daemon.clients.runtime, request, {
    deadline: Date.now() + 60_000,
  });
  const out: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on("data", (m: Record<string, T[]>) => out.push(...(m[field] ?? [])));
    stream.on("end", () => resolve(out));
    stream.on("error", reject);
  });
}

async function startContainer(podId: string, config: object, args: string[]): Promise<string> {
  const { container_id } = await call<{ container_id: string }>("CreateContainer", {
    pod_sandbox_id: podId,
    config: { metadata: { name: "c", attempt: 0 }, image: { image }, command: args },
    sandbox_config: config,
  });
  await call("StartContainer", { container_id });
  return container_id;
}

beforeAll(async () => {
  registry = await startRegistry();
  image = `${registry.host}/library/busybox:latest`;
  await pushImage(registry, "library/busybox", "latest", busyboxImage("gzip"));
  dirs = tempDirs("skiff-e2e-pod-stats-");
  mkdirSync(dirs.root, { recursive: true });
  net = bridgeNetwork(dirs.dir, { gateway: true });
  net.install(dirs);
  daemon = await startDaemon(dirs, cniBinArgs);
  await rpc(daemon.clients.image, "PullImage", { image: { image } });

  const a = podConfig("stats-bridged", { labels: { app: "stats-a", tier: "web" } });
  bridged = await runPod(daemon, a);
  burner = await startContainer(bridged, a, [
    "sh",
    "-c",
    "busybox dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; " +
      `busybox wget -q -T 1 -O /dev/null http://${net.gateway}:9/ 2>/dev/null; ` +
      "while :; do :; done",
  ]);
  const b = podConfig("stats-host", { labels: { app: "stats-b", tier: "web" }, hostNetwork: true });
  hosted = await runPod(daemon, b);
  await startContainer(hosted, b, ["sleep", "600"]);
  // dd and wget done (wget gives up after 1 s), the loop running.
  await sleep(2500);
}, 120_000);

afterAll(async () => {
  try {
    if (daemon) {
      for (const { id } of await listPods(daemon).catch(() => [])) {
        await call("StopPodSandbox", { pod_sandbox_id: id }).catch(() => undefined);
        await call("RemovePodSandbox", { pod_sandbox_id: id }).catch(() => undefined);
      }
      await daemon.stop();
    }
  } finally {
    if (dirs) forceCleanup(dirs);
    net?.cleanup();
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 120_000);

describe("PodSandboxStats", () => {
  test("a bridged pod: attributes, cgroup CPU and memory, processes, eth0, its container", async () => {
    const first = await podStats(bridged);
    expect(first.attributes).toEqual({
      id: bridged,
      metadata: expect.objectContaining({ name: "stats-bridged", namespace: "skiff-e2e" }),
      labels: { app: "stats-a", tier: "web" },
      annotations: { "e2e.skiff.dev/test": "sandbox" },
    });
    expect(first.windows).toBeNull();
    const linux = first.linux!;
    expect(n(linux.cpu.usage_core_nano_seconds)).toBeGreaterThan(0);
    // the shm pages dd wrote are charged to the pod and stay resident
    expect(n(linux.memory?.working_set_bytes)).toBeGreaterThanOrEqual(16 * MiB);
    expect(n(linux.memory?.usage_bytes)).toBeGreaterThanOrEqual(n(linux.memory?.working_set_bytes));
    expect(n(linux.memory?.page_faults)).toBeGreaterThan(0);
    // the infra process and the container's shell
    expect(n(linux.process?.process_count)).toBeGreaterThanOrEqual(2);

    const eth0 = linux.network?.default_interface;
    expect(eth0?.name).toBe("eth0");
    expect(linux.network?.interfaces.map((i) => i.name)).toContain("eth0");
    expect(linux.network?.interfaces.map((i) => i.name)).not.toContain("lo");
    // wget's ARP and SYN went out to the bridge, the bridge's ARP answer came back
    expect(n(eth0?.tx_bytes)).toBeGreaterThan(0);
    expect(n(eth0?.rx_bytes)).toBeGreaterThan(0);
    expect(n(eth0?.rx_errors)).toBe(0);

    expect(linux.containers.map((c) => c.attributes.id)).toEqual([burner]);
    const c = linux.containers[0]!;
    expect(c.attributes.metadata.name).toBe("c");
    expect(n(c.cpu?.usage_core_nano_seconds)).toBeGreaterThan(0);
    expect(n(c.memory?.working_set_bytes)).toBeGreaterThan(0);

    // The rate needs a previous sample at least a second old.
    await sleep(1500);
    const second = (await podStats(bridged)).linux!;
    expect(BigInt(second.cpu.timestamp)).toBeGreaterThan(BigInt(linux.cpu.timestamp));
    expect(n(second.cpu.usage_core_nano_seconds)).toBeGreaterThan(
      n(linux.cpu.usage_core_nano_seconds),
    );
    // a busy loop: a good part of a core (the machine is shared, so not a whole one)
    expect(n(second.cpu.usage_nano_cores)).toBeGreaterThan(100_000_000);
    expect(n(second.containers[0]?.cpu?.usage_nano_cores)).toBeGreaterThan(100_000_000);
  });

  test("ContainerStats and ListContainerStats carry the busy loop's usage_nano_cores", async () => {
    type CStats = {
      attributes: { id: string };
      cpu: { usage_nano_cores: U64 | null };
    };
    const one = async () =>
      (await call<{ stats: CStats }>("ContainerStats", { container_id: burner })).stats;
    await one();
    await sleep(1100);
    expect(n((await one()).cpu.usage_nano_cores)).toBeGreaterThan(100_000_000);
    await sleep(1100);
    const { stats } = await call<{ stats: CStats[] }>("ListContainerStats", {
      filter: { id: burner },
    });
    expect(stats.map((s) => s.attributes.id)).toEqual([burner]);
    expect(n(stats[0]!.cpu.usage_nano_cores)).toBeGreaterThan(100_000_000);
  });

  test("a host-network pod has no network section (its interfaces are the node's)", async () => {
    const s = await podStats(hosted);
    expect(s.attributes.id).toBe(hosted);
    expect(s.linux?.network).toBeNull();
    expect(n(s.linux?.process?.process_count)).toBeGreaterThanOrEqual(2);
    expect(n(s.linux?.memory?.working_set_bytes)).toBeGreaterThan(0);
    expect(s.linux?.containers).toHaveLength(1);
  });

  test("an id prefix is accepted; an unknown id is NotFound, an empty one InvalidArgument", async () => {
    expect((await podStats(bridged.slice(0, 12))).attributes.id).toBe(bridged);
    expect(await codeOf(podStats("0".repeat(64)))).toBe(grpcStatus.NOT_FOUND);
    expect(await codeOf(podStats(""))).toBe(grpcStatus.INVALID_ARGUMENT);
  });
});

describe("ListPodSandboxStats", () => {
  test("no filter: every pod; by id prefix; by labels", async () => {
    const ids = (stats: PodStats[]) => stats.map((s) => s.attributes.id).sort();
    expect(ids(await listStats())).toEqual([bridged, hosted].sort());
    expect(ids(await listStats({ id: bridged.slice(0, 10) }))).toEqual([bridged]);
    expect(ids(await listStats({ label_selector: { app: "stats-b" } }))).toEqual([hosted]);
    expect(ids(await listStats({ label_selector: { tier: "web" } }))).toEqual(
      [bridged, hosted].sort(),
    );
    expect(await listStats({ label_selector: { app: "stats-a", tier: "db" } })).toEqual([]);
    expect(await listStats({ id: "f".repeat(64) })).toEqual([]);
    const [a] = await listStats({ id: bridged });
    expect(a?.linux?.network?.default_interface?.name).toBe("eth0");
    expect(a?.linux?.containers.map((c) => c.attributes.id)).toEqual([burner]);
  });
});

describe("StreamPodSandboxes and StreamPodSandboxStats", () => {
  test("StreamPodSandboxes answers what ListPodSandbox does, filters included", async () => {
    for (const filter of [null, { label_selector: { app: "stats-a" } }, { id: hosted }]) {
      const request = filter ? { filter } : {};
      const listed = (await call<{ items: unknown[] }>("ListPodSandbox", request)).items;
      const streamed = await streamAll("StreamPodSandboxes", request, "pod_sandboxes");
      expect(streamed).toEqual(listed);
    }
  });

  test("StreamPodSandboxStats answers the pods ListPodSandboxStats does", async () => {
    const shape = (s: PodStats) => ({
      attributes: s.attributes,
      network: s.linux?.network?.interfaces.map((i) => i.name) ?? null,
      containers: s.linux?.containers.map((c) => c.attributes.id),
      hasCpu: n(s.linux?.cpu.usage_core_nano_seconds) > 0,
    });
    for (const filter of [null, { label_selector: { app: "stats-b" } }, { id: bridged }]) {
      const request = filter ? { filter } : {};
      const listed = await listStats(filter);
      const streamed = await streamAll<PodStats>(
        "StreamPodSandboxStats",
        request,
        "pod_sandbox_stats",
      );
      expect(streamed.map(shape)).toEqual(listed.map(shape));
    }
  });
});

describe("a stopped pod", () => {
  test("answers with what is still readable: attributes, no network, no exited containers", async () => {
    await call("StopPodSandbox", { pod_sandbox_id: hosted });
    const s = await podStats(hosted);
    expect(s.attributes.id).toBe(hosted);
    expect(s.linux?.network).toBeNull();
    expect(s.linux?.containers).toEqual([]);
    const listed = await listStats({ label_selector: { app: "stats-b" } });
    expect(listed.map((p) => p.attributes.id)).toEqual([hosted]);
  });
});
