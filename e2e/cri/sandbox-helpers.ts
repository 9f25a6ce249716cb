/**
 * Helpers of the pod sandbox e2e tests: CRI pod configs, calls that answer a gRPC code,
 * and an inventory of what a daemon's pods leave on the machine (netns files, infra
 * containers, CNI cache entries, pod dirs, mounts, host-local IPs, veths, cgroups), so
 * a test can assert that nothing leaked.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import type { BridgeNetwork, DaemonDirs, RunningDaemon } from "../harness/skiff-cri.js";
export { cgroupDirs, removeCgroupTree } from "../harness/cgroups.js";

export interface PodOptions {
  uid?: string;
  attempt?: number;
  namespace?: string;
  hostname?: string;
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  hostIpc?: boolean;
  sharedPid?: boolean;
  hostPid?: boolean;
  sysctls?: Record<string, string>;
  portMappings?: { container_port: number; host_port: number; protocol?: string }[];
  cgroupParent?: string;
  dns?: { servers: string[]; searches: string[]; options: string[] };
  resources?: Record<string, string>;
}

export function podConfig(name: string, o: PodOptions = {}): Record<string, unknown> {
  return {
    metadata: {
      name,
      uid: o.uid ?? `uid-${name}`,
      namespace: o.namespace ?? "skiff-e2e",
      attempt: o.attempt ?? 0,
    },
    hostname: o.hostname ?? "",
    labels: o.labels ?? {},
    annotations: { "e2e.skiff.dev/test": "sandbox" },
    port_mappings: o.portMappings ?? [],
    ...(o.dns ? { dns_config: o.dns } : {}),
    linux: {
      cgroup_parent: o.cgroupParent ?? "",
      sysctls: o.sysctls ?? {},
      ...(o.resources ? { resources: o.resources } : {}),
      security_context: {
        namespace_options: {
          network: o.hostNetwork ? "NODE" : "POD",
          ipc: o.hostIpc ? "NODE" : "POD",
          pid: o.hostPid ? "NODE" : o.sharedPid ? "POD" : "CONTAINER",
        },
      },
    },
  };
}

export async function runPod(
  daemon: RunningDaemon,
  config: Record<string, unknown>,
  handler = "",
): Promise<string> {
  const r = await rpc<{ pod_sandbox_id: string }>(daemon.clients.runtime, "RunPodSandbox", {
    config,
    runtime_handler: handler,
  });
  return r.pod_sandbox_id;
}

export interface PodStatus {
  status: {
    id: string;
    state: string;
    created_at: string;
    network: { ip: string; additional_ips: { ip: string }[] } | null;
    linux: { namespaces: { options: { network: string; pid: string; ipc: string } } } | null;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    metadata: { name: string; uid: string; namespace: string; attempt: number };
  };
  info: Record<string, string>;
}

export function podStatus(daemon: RunningDaemon, id: string, verbose = false): Promise<PodStatus> {
  return rpc<PodStatus>(daemon.clients.runtime, "PodSandboxStatus", {
    pod_sandbox_id: id,
    verbose,
  });
}

export async function listPods(
  daemon: RunningDaemon,
  filter: Record<string, unknown> | null = null,
): Promise<{ id: string; state: string; labels: Record<string, string> }[]> {
  const r = await rpc<{ items: { id: string; state: string; labels: Record<string, string> }[] }>(
    daemon.clients.runtime,
    "ListPodSandbox",
    filter ? { filter } : {},
  );
  return r.items;
}

/** The gRPC status code a call fails with (or "ok"). */
export async function codeOf(call: Promise<unknown>): Promise<number | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return (err as { code: number }).code;
  }
}

export interface Leftovers {
  netns: string[];
  infra: string[];
  cniCache: string[];
  podDirs: string[];
  mounts: string[];
  ips: string[];
  veths: string[];
}

const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** Everything pods of the daemon in `dirs` can leave behind. */
export function leftovers(dirs: DaemonDirs, net: BridgeNetwork): Leftovers {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dirs.dir));
  return {
    netns: list(join(dirs.state, "netns")),
    infra: list(join(dirs.state, "infra")),
    cniCache: list(join(dirs.root, "cni", "cache")),
    podDirs: list(join(dirs.root, "sandboxes")),
    mounts,
    ips: net.allocated(),
    veths: net.veths(),
  };
}

export const nothingLeft: Leftovers = {
  netns: [],
  infra: [],
  cniCache: [],
  podDirs: [],
  mounts: [],
  ips: [],
  veths: [],
};

/**
 * Last-resort cleanup for a test whose daemon died or whose pods could not be removed
 * through the API: kills every infra process (and its monitor), lazily unmounts every
 * mount under the test dir (pod netns files and shm tmpfs). Safe to run after a clean
 * removal (it then finds nothing).
 */
export function forceCleanup(dirs: DaemonDirs): void {
  const infraDir = join(dirs.state, "infra");
  for (const id of existsSync(infraDir) ? readdirSync(infraDir) : []) {
    try {
      const pid = Number(readFileSync(join(infraDir, id, "pid"), "utf8").trim());
      const monitor = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[3]);
      for (const p of [pid, monitor]) if (p > 1) process.kill(p, "SIGKILL");
    } catch {
      // gone already
    }
  }
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dirs.dir}/`))
    .reverse();
  for (const m of mounts) spawnSync("umount", ["-l", m]);
}
