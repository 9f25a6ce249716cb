/**
 * make bench-runtime: /bin/true in a busybox bundle, interleaved, N runs each, through
 *   (a) Skiff's core from a running Node process (create, start, wait, delete: the path
 *       skiff-cri takes; Node start-up not counted),
 *   (b) `skiff-oci run` as a whole process,
 *   (c) Debian's `runc run`,
 *   (d) Debian's `crun run` (crun 1.8 refuses this host's hybrid cgroups, so it runs in a
 *       private mount namespace with a tmpfs over /sys/fs/cgroup/unified),
 * then the monitor's PSS (smaps_rollup) per running container with 50 running.
 * (b)-(d) are timed inside one bash with $EPOCHREALTIME, so no timer process is counted.
 * Prints min/median/p90 and the ratios to runc and crun. A script, not a test.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerRuntime } from "../../cri/src/core/container/runtime.js";
import { defaultSpec } from "../../cri/src/core/oci/defaults.js";
import { bin } from "../harness/skiff-cri.js";
import { removeSkiffCgroups } from "../harness/cgroups.js";

const runs = Number(process.env["RUNS"] ?? 30);
const work = mkdtempSync(join(tmpdir(), "skiff-bench-runtime-"));
const bundle = join(work, "bundle");
const rootfs = join(bundle, "rootfs");
for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc"])
  mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
for (const a of ["true", "sleep", "sh"]) symlinkSync("busybox", join(rootfs, "bin", a));
const spec = defaultSpec({ args: ["/bin/true"], terminal: false });
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
// runc 1.1 and crun 1.8 predate runtime-spec 1.2; the same spec under the version they know
const peerBundle = join(work, "peer");
mkdirSync(peerBundle);
writeFileSync(
  join(peerBundle, "config.json"),
  JSON.stringify({ ...spec, ociVersion: "1.0.2", root: { ...spec.root, path: rootfs } }),
);

const runtime = new ContainerRuntime({ root: join(work, "skiff-state") });
const samples: Record<string, number[]> = {
  "skiff core": [],
  "skiff-oci run": [],
  "runc run": [],
  "crun run": [],
};

function timedShell(script: string, unshare = false): number {
  const args = unshare ? ["-m", "bash", "-c", script] : ["-c", script];
  const out = execFileSync(unshare ? "unshare" : "bash", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [start, end] = out.trim().split("\n").pop()!.split(" ").map(Number) as [number, number];
  return (end - start) * 1000;
}

const timed = (cmd: string) =>
  `s=$EPOCHREALTIME; ${cmd} </dev/null >/dev/null; e=$EPOCHREALTIME; echo "$s $e"`;

async function main(): Promise<void> {
  let n = 0;
  for (let i = 0; i < runs + 2; i++) {
    const warm = i < 2;
    const id = `bench-${process.pid}-${n++}`;
    const started = process.hrtime.bigint();
    await runtime.create(id, bundle, spec);
    await runtime.start(id);
    await runtime.wait(id);
    await runtime.delete(id);
    const core = Number(process.hrtime.bigint() - started) / 1e6;
    const oci = timedShell(
      timed(`${bin("skiff-oci")} --root ${work}/oci-state run -b ${bundle} o${n}`),
    );
    const runc = timedShell(timed(`runc --root ${work}/runc-state run -b ${peerBundle} r${n}`));
    const crun = timedShell(
      `mount -t tmpfs tmpfs /sys/fs/cgroup/unified && ${timed(`crun --root ${work}/crun-state run -b ${peerBundle} c${n}`)}`,
      true,
    );
    if (warm) continue;
    samples["skiff core"]!.push(core);
    samples["skiff-oci run"]!.push(oci);
    samples["runc run"]!.push(runc);
    samples["crun run"]!.push(crun);
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
    return { min: s[0] as number, median: at(0.5), p90: at(0.9) };
  };
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stat(v)]));
  const runcMedian = stats["runc run"]!.median;
  const crunMedian = stats["crun run"]!.median;
  console.log(`/bin/true, ${runs} interleaved runs each (ms)`);
  console.log(
    "what".padEnd(16) +
      "min".padStart(8) +
      "median".padStart(9) +
      "p90".padStart(8) +
      "  ÷runc  ÷crun",
  );
  for (const [name, s] of Object.entries(stats)) {
    console.log(
      name.padEnd(16) +
        s.min.toFixed(1).padStart(8) +
        s.median.toFixed(1).padStart(9) +
        s.p90.toFixed(1).padStart(8) +
        (s.median / runcMedian).toFixed(2).padStart(7) +
        (s.median / crunMedian).toFixed(2).padStart(7),
    );
  }

  // Monitor memory: 50 running containers, PSS of each monitor.
  const ids: string[] = [];
  const sleeper = { ...spec, process: { ...spec.process!, args: ["/bin/sleep", "1000"] } };
  let pss = 0;
  try {
    for (let i = 0; i < 50; i++) {
      const id = `pss-${process.pid}-${i}`;
      ids.push(id);
      await runtime.create(id, bundle, sleeper);
      await runtime.start(id);
    }
    const monitors = ids.map(
      (id) =>
        JSON.parse(readFileSync(join(work, "skiff-state", id, "container.json"), "utf8"))
          .monitorPid as number,
    );
    for (const pid of monitors) {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? NaN);
    }
    console.log(
      `monitor PSS with 50 containers running: ${(pss / 50).toFixed(0)} KiB per container (target ≤ 400 KiB)`,
    );
  } finally {
    for (const id of ids) await runtime.delete(id, { force: true }).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    removeSkiffCgroups(); // the default cgroup parent of specs without cgroupsPath
  }
}

await main();
