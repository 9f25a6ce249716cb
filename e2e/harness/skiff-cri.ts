/**
 * Starts real skiff-cri processes (bin/skiff-cri) in temp dirs for e2e tests, and
 * stops them, removing what they leave.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect, rpc, type SkiffClients } from "../../cri/src/cli/client.js";

export const repoRoot = resolve(import.meta.dirname, "../../..");
export const bin = (name: string): string => join(repoRoot, "bin", name);

export interface DaemonDirs {
  dir: string;
  socket: string;
  root: string;
  state: string;
  config: string;
}

/** A temp dir with an empty config file; nothing else exists until skiff-cri makes it. */
export function tempDirs(prefix = "skiff-e2e-"): DaemonDirs {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "etc"));
  writeFileSync(join(dir, "etc", "config.yaml"), "registries: {}\n");
  return {
    dir,
    socket: join(dir, "run", "cri.sock"),
    root: join(dir, "root"),
    state: join(dir, "state"),
    config: join(dir, "etc", "config.yaml"),
  };
}

export function daemonArgs(dirs: DaemonDirs): string[] {
  return [
    `--socket=${dirs.socket}`,
    `--root=${dirs.root}`,
    `--state=${dirs.state}`,
    `--config=${dirs.config}`,
    `--cni-conf-dir=${join(dirs.dir, "net.d")}`,
    "--log-level=debug",
  ];
}

export interface RunningDaemon {
  dirs: DaemonDirs;
  process: ChildProcess;
  clients: SkiffClients;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts skiff-cri and waits until it answers Version. `env` adds variables (e.g. the
 * SKIFF_TEST_CRASH_AT test hook).
 */
export async function startDaemon(
  dirs: DaemonDirs,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningDaemon> {
  const child = spawn(bin("skiff-cri"), [...daemonArgs(dirs), ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const clients = connect(dirs.socket);
  try {
    await answersVersion(clients, child, 20_000);
  } catch (err) {
    clients.close();
    child.kill("SIGKILL");
    throw new Error(`skiff-cri did not start: ${(err as Error).message}\n${output}`, {
      cause: err,
    });
  }
  return {
    dirs,
    process: child,
    clients,
    output: () => output,
    exited,
    stop: async (signal = "SIGTERM") => {
      clients.close();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Waits until the CRI runtime behind `clients` answers Version; throws its last error
 * once `child` has exited or `ms` have passed.
 */
export async function answersVersion(
  clients: SkiffClients,
  child: ChildProcess,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await rpc(clients.runtime, "Version", {}, 1000);
      return;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Runs skiff-cri expecting it to fail at start; returns its exit code and stderr. */
export function runDaemonToFailure(args: string[]): { code: number | null; stderr: string } {
  const result = spawnSync(bin("skiff-cri"), args, { encoding: "utf8", timeout: 20_000 });
  return { code: result.status, stderr: result.stderr };
}

export function removeDirs(dirs: DaemonDirs): void {
  if (existsSync(dirs.dir)) rmSync(dirs.dir, { recursive: true, force: true });
}

/** The path of a pinned tool from the tool cache (built on first use). */
export function toolPath(name: string): string {
  const result = spawnSync(join(repoRoot, "e2e/tools/build-tools.sh"), ["--path", name], {
    encoding: "utf8",
  });
  if (result.status !== 0)
    throw new Error(`build-tools.sh --path ${name} failed:\n${result.stderr}`);
  return result.stdout.trim();
}

/**
 * A CNI bridge network for one test file, with Debian's plugins from /usr/lib/cni: a
 * bridge and a 10.x.y.0/24 that exist only on this machine (ipMasq off: nothing routed
 * off it), host-local allocations in a temp dir. `gateway: true` gives the bridge an
 * address (the host reaches pods; the plugin turns ip_forward on); `portmap: true` adds
 * the portmap plugin for hostPorts. cleanup() deletes the bridge, restores ip_forward
 * and removes the iptables rules and chains the plugins added.
 */
export interface BridgeNetwork {
  name: string;
  bridge: string;
  subnet: string;
  /** "10.x.y" */
  prefix: string;
  gateway: string;
  ipamDir: string;
  conflist: Record<string, unknown>;
  /** Writes the conflist into the daemon's --cni-conf-dir. */
  install(dirs: DaemonDirs): void;
  /** Addresses host-local has allocated. */
  allocated(): string[];
  /** Interfaces enslaved to the bridge (the pods' host-side veths). */
  veths(): string[];
  cleanup(): void;
}

export const cniBinArgs = ["--cni-bin-dir=/usr/lib/cni"];

export function bridgeNetwork(
  dir: string,
  options: { gateway?: boolean; portmap?: boolean } = {},
): BridgeNetwork {
  const tag = randomBytes(3).toString("hex");
  const prefix = `10.${randomInt(200, 250)}.${randomInt(1, 254)}`;
  const name = `ske-${tag}`;
  const bridge = `ske${tag}`;
  const ipamDir = join(dir, "ipam");
  const gateway = options.gateway ?? false;
  const plugins: Record<string, unknown>[] = [
    {
      type: "bridge",
      bridge,
      isGateway: gateway,
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: "host-local",
        dataDir: ipamDir,
        ranges: [[{ subnet: `${prefix}.0/24`, gateway: `${prefix}.1` }]],
        ...(gateway ? { routes: [{ dst: "0.0.0.0/0" }] } : {}),
      },
    },
  ];
  if (options.portmap) plugins.push({ type: "portmap", capabilities: { portMappings: true } });
  const conflist = { cniVersion: "1.0.0", name, plugins };
  const ipForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const before = new Map(["nat", "filter"].map((t) => [t, iptablesRules(t)]));
  return {
    name,
    bridge,
    subnet: `${prefix}.0/24`,
    prefix,
    gateway: `${prefix}.1`,
    ipamDir,
    conflist,
    install: (dirs) => {
      mkdirSync(join(dirs.dir, "net.d"), { recursive: true });
      writeFileSync(join(dirs.dir, "net.d", `10-${name}.conflist`), JSON.stringify(conflist));
    },
    allocated: () => {
      const d = join(ipamDir, name);
      if (!existsSync(d)) return [];
      return readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    },
    veths: () => {
      const r = spawnSync("ip", ["-o", "link", "show", "master", bridge], { encoding: "utf8" });
      if (r.status !== 0) return [];
      return r.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => (l.split(": ")[1] ?? "").split("@")[0] ?? "");
    },
    cleanup: () => {
      spawnSync("ip", ["link", "del", bridge]);
      writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
      for (const [table, had] of before) restoreIptables(table, had);
    },
  };
}

function iptablesRules(table: string): string[] {
  const r = spawnSync("iptables-save", ["-t", table], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => /^[-:]/.test(l));
}

/**
 * Removes CNI rules and chains added since `had` was taken. portmap's shared
 * CNI-HOSTPORT-* chains stay while another pod's mapping still uses them.
 */
function restoreIptables(table: string, had: string[]): void {
  const known = new Set(had);
  const now = iptablesRules(table);
  const added = now.filter((l) => !known.has(l) && l.includes("CNI-"));
  const chains = added.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0] ?? "");
  const busy = now.some((l) => l.startsWith("-A CNI-HOSTPORT-DNAT ") || l.startsWith("-A CNI-DN-"));
  if (busy && !chains.includes("CNI-HOSTPORT-DNAT")) return;
  for (const rule of added.filter((l) => l.startsWith("-A "))) {
    spawnSync("sh", ["-c", `iptables -w -t ${table} -D ${rule.slice(3)}`]);
  }
  for (const chain of chains) spawnSync("iptables", ["-w", "-t", table, "-F", chain]);
  for (const chain of chains) spawnSync("iptables", ["-w", "-t", table, "-X", chain]);
}
