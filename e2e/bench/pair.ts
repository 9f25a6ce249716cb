/**
 * The two runtimes the side-by-side CRI benchmarks compare, set up alike: a local
 * docker-registry holding the benchmark's images (bench/<name>:v1) and the pause-like
 * sandbox image; one CNI bridge network (Debian's plugins) whose conflist both read
 * from the same dir; skiff-cri (log level info) and a private containerd 1.6; every
 * image pulled on both beforehand. stop() removes everything (pods through the CRI,
 * daemons, mounts, bridge and iptables rules, registry, temp dirs), also on SIGINT or
 * SIGTERM (then the process exits 130), and is safe to call twice.
 */
import { removeSkiffCgroups } from "../harness/cgroups.js";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { rpc, type SkiffClients } from "../../cri/src/cli/client.js";
import {
  pushPauseImage,
  removePods,
  startContainerd,
  unmountUnder,
  type RunningContainerd,
} from "../harness/containerd.js";
import { pushImage, type BuiltImage } from "../harness/images.js";
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

export interface Runtime {
  name: "skiff-cri" | "containerd";
  pid: number;
  socket: string;
  clients: SkiffClients;
  version: string;
}

export interface Pair {
  registry: TestRegistry;
  network: BridgeNetwork;
  /** skiff-cri first, then containerd. */
  runtimes: [Runtime, Runtime];
  /** Image references by the names given to startPair. */
  refs: Record<string, string>;
  /** A temp dir for the benchmark's own files (pod log dirs); stop() removes it. */
  work: string;
  stop(): Promise<void>;
}

/**
 * FAVOR_DYNMODS=1 starts skiff-cri with --cgroup-favor-dynmods: the kernel setting is
 * node-wide, so containerd's migrations are spared the RCU grace period as well.
 */
const skiffArgs = [
  "--log-level=info",
  ...cniBinArgs,
  ...(process.env.FAVOR_DYNMODS === "1" ? ["--cgroup-favor-dynmods"] : []),
];

export async function startPair(images: Record<string, BuiltImage>): Promise<Pair> {
  let registry: TestRegistry | undefined;
  let dirs: DaemonDirs | undefined;
  let network: BridgeNetwork | undefined;
  let skiff: RunningDaemon | undefined;
  let containerd: RunningContainerd | undefined;
  let stopping: Promise<void> | undefined;
  const work = mkdtempSync("/tmp/skiff-bench-work-");
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await containerd?.stop();
      if (interrupted && skiff) {
        await Promise.race([skiff.exited, new Promise((r) => setTimeout(r, 1000))]);
      }
      if (skiff && dirs && (skiff.process.exitCode ?? skiff.process.signalCode) !== null) {
        // killed with the terminal's process group (Ctrl-C): its pods outlive it, so
        // start it again on the same dirs to remove them through the CRI
        skiff = await startDaemon(dirs, skiffArgs).catch(() => skiff);
      }
      if (skiff) {
        await removePods(skiff.clients).catch((err: Error) =>
          console.error(`cleanup of skiff-cri's pods failed: ${err.message}`),
        );
        await skiff.stop();
      }
      if (dirs) unmountUnder(dirs.dir);
      network?.cleanup();
      removeSkiffCgroups();
      if (dirs) removeDirs(dirs);
      await registry?.stop();
      rmSync(work, { recursive: true, force: true });
    })());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: cleaning up`);
    interrupted = true;
    void stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    registry = await startRegistry();
    const refs: Record<string, string> = {};
    for (const [name, image] of Object.entries(images)) {
      await pushImage(registry, `bench/${name}`, "v1", image);
      refs[name] = `${registry.host}/bench/${name}:v1`;
    }
    const pause = await pushPauseImage(registry);
    dirs = tempDirs("skiff-bench-");
    network = bridgeNetwork(dirs.dir);
    network.install(dirs);
    skiff = await startDaemon(dirs, skiffArgs);
    containerd = await startContainerd({
      cniConfDir: join(dirs.dir, "net.d"),
      sandboxImage: pause,
      registryHosts: [registry.host],
      registry,
    });
    const runtimes: [Runtime, Runtime] = [
      {
        name: "skiff-cri",
        pid: skiff.process.pid!,
        socket: dirs.socket,
        clients: skiff.clients,
        version: "",
      },
      {
        name: "containerd",
        pid: containerd.pid,
        socket: containerd.socket,
        clients: containerd.clients,
        version: "",
      },
    ];
    for (const r of runtimes) {
      r.version = (
        await rpc<{ runtime_version: string }>(r.clients.runtime, "Version", {})
      ).runtime_version;
      for (const ref of Object.values(refs))
        await rpc(r.clients.image, "PullImage", { image: { image: ref } });
    }
    await rpc(containerd.clients.image, "PullImage", { image: { image: pause } });
    return { registry, network, runtimes, refs, work, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A pod config both runtimes get alike: pod network, ipc; the container's own pid ns. */
export function podConfig(name: string, logDirectory: string): Record<string, unknown> {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: "bench", attempt: 0 },
    hostname: name,
    log_directory: logDirectory,
    labels: { "bench.skiff.dev/run": name },
    linux: {
      security_context: {
        namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" },
      },
    },
  };
}
