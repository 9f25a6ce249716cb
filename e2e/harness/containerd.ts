/**
 * A private containerd (Debian's 1.6, /usr/bin/containerd) for side-by-side benchmarks:
 * its own root, state and socket in a short temp dir, a generated config.toml
 * (version 2) with the CRI plugin on the overlayfs snapshotter and the runc v2 shim
 * (runc's state also kept in the temp dir), the CNI conf and bin dirs the caller gives
 * (the same conflist as Skiff's), network namespaces under the state dir, and a hosts
 * dir (config_path) that sends each named registry to the local registry over plain
 * HTTP, with no fallback upstream. The sandbox image is a pause-like image made from
 * Skiff's static skiff-infra (pauseImage()).
 *
 * stop() removes everything, also after a failure or with pods still running: pods
 * through the CRI (so CNI DEL runs), then containerd, its shims and runc's containers
 * (SIGKILL after a grace period), the mounts under the temp dir (deepest first), the
 * shims' sockets under /run/containerd/s, the CNI result cache entries of the network,
 * the /k8s.io pod cgroups if it made them, and the temp dir. The CNI bridge and its iptables rules belong to the BridgeNetwork
 * the caller made (its cleanup() removes them).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { connect, rpc, type SkiffClients } from "../../cri/src/cli/client.js";
import { buildImage, buildLayer, pushImage, type BuiltImage } from "./images.js";
import { freePort, type TestRegistry } from "./registry.js";
import { answersVersion, repoRoot } from "./skiff-cri.js";

export const containerdBinary = "/usr/bin/containerd";
export const runcBinary = "/usr/sbin/runc";
const shimSocketDir = "/run/containerd/s";
const cniCacheDir = "/var/lib/cni";

export interface ContainerdOptions {
  /** CNI network configurations (e.g. the dir a BridgeNetwork was installed into). */
  cniConfDir: string;
  cniBinDir?: string;
  /** Image the CRI plugin runs as each pod's sandbox container. */
  sandboxImage: string;
  /** Registry hosts (host:port as written in image references) served by `registry`. */
  registryHosts: string[];
  registry: TestRegistry;
  /** containerd's log level (default "info"). */
  logLevel?: string;
}

export interface RunningContainerd {
  dir: string;
  root: string;
  state: string;
  socket: string;
  configFile: string;
  process: ChildProcess;
  pid: number;
  clients: SkiffClients;
  output(): string;
  /** Removes pods and everything containerd made; safe to call twice. */
  stop(): Promise<void>;
}

/** The pause-like sandbox image: skiff-infra (static) as /pause, its entrypoint. */
export function pauseImage(): BuiltImage {
  const infra = readFileSync(join(repoRoot, "cri/native/build/skiff-infra"));
  return buildImage({
    layers: [buildLayer([{ name: "pause", type: "file", mode: 0o755, body: infra }])],
    config: { Entrypoint: ["/pause"], Cmd: [], Env: [] },
  });
}

/** Pushes pauseImage() to `registry` as bench/pause:3.10; returns its reference. */
export async function pushPauseImage(registry: TestRegistry): Promise<string> {
  await pushImage(registry, "bench/pause", "3.10", pauseImage());
  return `${registry.host}/bench/pause:3.10`;
}

function configToml(o: {
  root: string;
  state: string;
  socket: string;
  hostsDir: string;
  streamPort: number;
  options: ContainerdOptions;
}): string {
  const q = JSON.stringify;
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = ${q(o.root)}
state = ${q(o.state)}
# only what the CRI plugin needs: no /opt/containerd, no other snapshotters
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = ${q(o.socket)}

[ttrpc]
  address = ${q(`${o.socket}.ttrpc`)}

[debug]
  level = ${q(o.options.logLevel ?? "info")}

[${cri}]
  sandbox_image = ${q(o.options.sandboxImage)}
  stream_server_address = "127.0.0.1"
  stream_server_port = ${q(String(o.streamPort))}
  netns_mounts_under_state_dir = true
  # this machine refuses lowering oom_score_adj (the sandbox's -998): keep containerd's own
  restrict_oom_score_adj = true
  enable_selinux = false

  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        BinaryName = ${q(runcBinary)}
        Root = ${q(join(o.state, "runc"))}
        SystemdCgroup = false

  [${cri}.cni]
    bin_dir = ${q(o.options.cniBinDir ?? "/usr/lib/cni")}
    conf_dir = ${q(o.options.cniConfDir)}
    max_conf_num = 1

  [${cri}.registry]
    config_path = ${q(o.hostsDir)}
`;
}

/** hosts.toml for one registry host: plain HTTP to the local registry, nothing upstream. */
function hostsToml(registry: TestRegistry): string {
  return `server = "${registry.url}"

[host."${registry.url}"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`;
}

/** Starts containerd and waits until its CRI plugin answers Version. */
export async function startContainerd(options: ContainerdOptions): Promise<RunningContainerd> {
  // Short: the socket path must fit sun_path (108 bytes) with ".ttrpc" appended.
  const dir = mkdtempSync("/tmp/ctd-");
  const root = join(dir, "root");
  const state = join(dir, "state");
  const socket = join(dir, "c.sock");
  const hostsDir = join(dir, "certs.d");
  const configFile = join(dir, "config.toml");
  const hadRunContainerd = existsSync("/run/containerd");
  const hadCniCache = existsSync(cniCacheDir);
  // Pods with no cgroup parent go under /k8s.io in each hierarchy; runc removes only the leaves
  const podCgroups = cgroupDirs("k8s.io").filter((d) => !existsSync(d));
  for (const host of options.registryHosts) {
    mkdirSync(join(hostsDir, host), { recursive: true });
    writeFileSync(join(hostsDir, host, "hosts.toml"), hostsToml(options.registry));
  }
  const streamPort = await freePort();
  writeFileSync(
    configFile,
    configToml({ root, state, socket, hostsDir, streamPort, options: options }),
  );
  // its own process group: a Ctrl-C in the terminal reaches the caller, which then
  // removes the pods through containerd before stopping it
  const child = spawn(containerdBinary, ["--config", configFile], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir },
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const clients = connect(socket);
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      await removePods(clients).catch(() => undefined);
    }
    clients.close();
    const shimAddresses = shimSocketFiles(state);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    killRuncContainers(join(state, "runc"));
    await killShims(socket);
    unmountUnder(dir);
    for (const file of shimAddresses) rmSync(file, { force: true });
    removeCniCache(options.cniConfDir);
    if (!hadRunContainerd) removeEmptyDirs([shimSocketDir, "/run/containerd"]);
    if (!hadCniCache) removeEmptyDirs([join(cniCacheDir, "results"), cniCacheDir]);
    removeEmptyDirs(podCgroups);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await answersVersion(clients, child, 30_000);
  } catch (err) {
    await stop();
    throw new Error(`containerd did not start: ${(err as Error).message}\n${output}`, {
      cause: err,
    });
  }
  return {
    dir,
    root,
    state,
    socket,
    configFile,
    process: child,
    pid: child.pid!,
    clients,
    output: () => output,
    stop,
  };
}

/**
 * Removes every container, then stops and removes every pod (so CNI DEL runs for each),
 * 16 calls at a time; errors of single calls are ignored. Works on any CRI runtime.
 */
export async function removePods(clients: SkiffClients): Promise<void> {
  const { runtime } = clients;
  const containers = await rpc<{ containers: { id: string }[] }>(
    runtime,
    "ListContainers",
    {},
    10_000,
  );
  await inBatches(containers.containers, 16, (c) =>
    rpc(runtime, "RemoveContainer", { container_id: c.id }, 60_000).catch(() => undefined),
  );
  const pods = await rpc<{ items: { id: string }[] }>(runtime, "ListPodSandbox", {}, 10_000);
  await inBatches(pods.items, 16, async (pod) => {
    await rpc(runtime, "StopPodSandbox", { pod_sandbox_id: pod.id }, 60_000).catch(() => {});
    await rpc(runtime, "RemovePodSandbox", { pod_sandbox_id: pod.id }, 60_000).catch(() => {});
  });
}

async function inBatches<T>(
  items: T[],
  size: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** The sockets of this containerd's shims (each task dir's "address" file). */
function shimSocketFiles(state: string): string[] {
  const tasks = join(state, "io.containerd.runtime.v2.task");
  const out: string[] = [];
  if (!existsSync(tasks)) return out;
  for (const ns of readdirSync(tasks)) {
    for (const id of safeReaddir(join(tasks, ns))) {
      try {
        const address = readFileSync(join(tasks, ns, id, "address"), "utf8").trim();
        const path = address.replace(/^unix:\/\//, "");
        if (path.startsWith(`${shimSocketDir}/`)) out.push(path);
      } catch {
        // no address file: the shim never started
      }
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** SIGKILLs and deletes whatever runc still runs under this containerd's runc root. */
function killRuncContainers(runcRoot: string): void {
  for (const ns of safeReaddir(runcRoot)) {
    const nsRoot = join(runcRoot, ns);
    for (const id of safeReaddir(nsRoot)) {
      spawnSync(runcBinary, ["--root", nsRoot, "kill", "--all", id, "KILL"]);
      spawnSync(runcBinary, ["--root", nsRoot, "delete", "--force", id]);
    }
  }
}

/** The pids of processes whose command line names `needle`. */
function pidsWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Shims of this containerd are started with `-address <socket>`. */
async function killShims(socket: string): Promise<void> {
  let pids = pidsWith(socket);
  for (const pid of pids) signal(pid, "SIGTERM");
  for (let i = 0; i < 50 && pids.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    pids = pids.filter((pid) => existsSync(`/proc/${pid}`));
  }
  for (const pid of pids) signal(pid, "SIGKILL");
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Unmounts whatever is still mounted under `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync("umount", ["-l", m]);
}

/** `name` under the root of each mounted cgroup hierarchy (v1 controllers and unified). */
function cgroupDirs(name: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => join(l.split(" ")[4] ?? "/nonexistent", name));
}

function removeEmptyDirs(dirs: string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // not empty (someone else's) or already gone
    }
  }
}

/** libcni's result cache (/var/lib/cni/results) entries of the networks in `confDir`. */
function removeCniCache(confDir: string): void {
  const results = join(cniCacheDir, "results");
  const names = safeReaddir(confDir).flatMap((f) => {
    try {
      const conf = JSON.parse(readFileSync(join(confDir, f), "utf8")) as { name?: string };
      return conf.name ? [conf.name] : [];
    } catch {
      return [];
    }
  });
  for (const file of safeReaddir(results)) {
    if (names.some((n) => file.startsWith(`${n}-`))) rmSync(join(results, file), { force: true });
  }
}
