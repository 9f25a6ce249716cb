/**
 * `make critest`: critest v1.37.0 against a fresh skiff-cri. Builds critest's images
 * offline (images.ts), serves them from a local docker-registry that Skiff's mirror
 * config puts in front of registry.k8s.io, gcr.io, k8s.gcr.io and public.ecr.aws (the
 * specs assert the original names), gives the daemon a CNI bridge of its own, runs
 * critest without the specs listed in skip.txt, prints pass/fail/skip and exits non-zero
 * on any failure. Everything it made (pods, containers, mounts, bridge, iptables rules,
 * registry, temp dirs) is removed on the way out, failure or not.
 *
 * Environment: CRITEST_FOCUS (a ginkgo focus regex), CRITEST_KEEP=1 (keep the temp dir
 * and daemon log for a post-mortem; the daemon and its pods are still removed).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { removeSkiffCgroups } from "../harness/cgroups.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  repoRoot,
  startDaemon,
  tempDirs,
  toolPath,
  type BridgeNetwork,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { critestImages, pushCritestImages } from "./images.js";

const upstreams = ["registry.k8s.io", "gcr.io", "k8s.gcr.io", "public.ecr.aws"];

/** skip.txt: "regex  # reason" lines; blank lines and whole-line comments ignored. */
export function readSkipList(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function mirrorConfig(registry: TestRegistry): string {
  const lines = ["registries:"];
  for (const host of upstreams) {
    lines.push(`  "${host}":`, "    mirrors:", `      - url: "${registry.url}"`);
  }
  return `${lines.join("\n")}\n`;
}

async function removeEverything(daemon: RunningDaemon): Promise<void> {
  const { runtime } = daemon.clients;
  try {
    const pods = (await rpc(runtime, "ListPodSandbox", {}, 10_000)) as {
      items?: { id: string }[];
    };
    for (const pod of pods.items ?? []) {
      await rpc(runtime, "StopPodSandbox", { pod_sandbox_id: pod.id }, 60_000).catch(() => {});
      await rpc(runtime, "RemovePodSandbox", { pod_sandbox_id: pod.id }, 60_000).catch(() => {});
    }
    const containers = (await rpc(runtime, "ListContainers", {}, 10_000)) as {
      containers?: { id: string }[];
    };
    for (const c of containers.containers ?? []) {
      await rpc(runtime, "RemoveContainer", { container_id: c.id }, 60_000).catch(() => {});
    }
  } catch (err) {
    console.error(`critest: cleanup through the CRI failed: ${(err as Error).message}`);
  }
}

/** Unmounts whatever is still mounted under `dir` (deepest first). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync("umount", ["-l", m]);
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  pending: number;
}

function parseCounts(output: string): Counts | undefined {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const m =
    /(\d+) Passed \| (\d+) Failed \| (?:\d+ Flaked \| )?(\d+) Pending \| (\d+) Skipped/.exec(plain);
  if (!m) return undefined;
  return {
    passed: Number(m[1]),
    failed: Number(m[2]),
    pending: Number(m[3]),
    skipped: Number(m[4]),
  };
}

function failedSpecs(output: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const start = plain.lastIndexOf("Summarizing");
  if (start < 0) return [];
  return plain
    .slice(start)
    .split("\n")
    .filter((l) => /^\s*\[(FAIL|PANICKED|TIMEDOUT|INTERRUPTED)\]/.test(l))
    .map((l) => l.trim());
}

async function runCritest(socket: string, skip: string[], reportFile: string): Promise<string> {
  const endpoint = `unix://${socket}`;
  const args = [
    `-runtime-endpoint=${endpoint}`,
    `-image-endpoint=${endpoint}`,
    "-ginkgo.v",
    "-ginkgo.no-color",
    `-ginkgo.junit-report=${reportFile}`,
    "-ginkgo.timeout=2h",
  ];
  if (skip.length > 0) args.push(`-ginkgo.skip=${skip.join("|")}`);
  const focus = process.env.CRITEST_FOCUS;
  if (focus) args.push(`-ginkgo.focus=${focus}`);
  const child = spawn(toolPath("critest"), args, {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: join(socket, "..", ".."),
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString();
    process.stdout.write(d);
  });
  child.stderr.on("data", (d: Buffer) => {
    output += d.toString();
    process.stderr.write(d);
  });
  await new Promise<void>((resolve) => child.once("close", () => resolve()));
  return output;
}

async function main(): Promise<number> {
  const started = Date.now();
  const skip = readSkipList(join(repoRoot, "e2e/critest/skip.txt"));
  let registry: TestRegistry | undefined;
  let dirs: DaemonDirs | undefined;
  let network: BridgeNetwork | undefined;
  let daemon: RunningDaemon | undefined;
  const keep = process.env.CRITEST_KEEP === "1";
  let code = 1;
  const onSignal = (): void => {
    console.error("critest: interrupted, cleaning up");
    daemon?.process.kill("SIGTERM");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const images = critestImages();
    registry = await startRegistry();
    await pushCritestImages(registry, images);
    console.log(`critest: ${images.length} images in ${registry.url}`);
    dirs = tempDirs("skiff-critest-");
    writeFileSync(dirs.config, mirrorConfig(registry));
    network = bridgeNetwork(dirs.dir, { gateway: true, portmap: true });
    network.install(dirs);
    daemon = await startDaemon(dirs, [...cniBinArgs]);
    const output = await runCritest(dirs.socket, skip, join(dirs.dir, "junit.xml"));
    const counts = parseCounts(output);
    const failed = failedSpecs(output);
    console.log("\n=== critest summary ===");
    if (counts) {
      console.log(
        `passed ${counts.passed}, failed ${counts.failed}, skipped ${counts.skipped}` +
          ` (${skip.length} patterns in skip.txt), pending ${counts.pending}`,
      );
      for (const f of failed) console.log(`  ${f}`);
      code = counts.failed > 0 ? 1 : 0;
    } else {
      console.log("critest produced no summary (crashed?)");
    }
  } catch (err) {
    console.error(`critest: ${(err as Error).stack ?? String(err)}`);
  } finally {
    if (daemon) {
      await removeEverything(daemon);
      if (keep) writeFileSync(join(daemon.dirs.dir, "skiff-cri.log"), daemon.output());
      await daemon.stop();
    }
    if (dirs) unmountUnder(dirs.dir);
    network?.cleanup();
    removeSkiffCgroups();
    await registry?.stop();
    if (dirs && !keep) removeDirs(dirs);
    if (dirs && keep) console.log(`critest: kept ${dirs.dir}`);
    console.log(`critest: took ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return code;
}

process.exitCode = await main();
