/**
 * Starts real skiff-cri processes (bin/skiff-cri) in temp dirs for e2e tests, and
 * stops them, removing what they leave.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

/** Starts skiff-cri and waits until it answers Version. */
export async function startDaemon(dirs: DaemonDirs, extra: string[] = []): Promise<RunningDaemon> {
  const child = spawn(bin("skiff-cri"), [...daemonArgs(dirs), ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const clients = connect(dirs.socket);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc(clients.runtime, "Version", {}, 1000);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        clients.close();
        child.kill("SIGKILL");
        throw new Error(`skiff-cri did not start: ${(err as Error).message}\n${output}`, {
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
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
