/**
 * make bench-pull (a script, not a test): cold pulls through the CRI (PullImage over the
 * same in-process gRPC client) from one local docker-registry over plain HTTP, by
 * skiff-cri and by Debian's containerd 1.6 (CRI plugin, overlayfs snapshotter, Go's
 * gzip: no unpigz on these machines), interleaved, RUNS runs (default 5) after one
 * warm-up round that is not counted, the order of the two runtimes alternating:
 *   (a) busybox (busybox-static and one small file, 2 layers)
 *   (b) a 5-layer image of ~140 MB compressed / ~210 MB unpacked: per layer 4 large
 *       and 400 small incompressible files plus 200 text files
 * Cold: after each pull the image is removed through the CRI (RemoveImage); both
 * runtimes drop its content and snapshots at once (containerd deletes synchronously,
 * Skiff collects on removal), which the script checks by the size of each root.
 * Prints min/median/p90 ms, MB/s (compressed bytes / median time) and Skiff's ratio to
 * containerd, and the peak VmRSS of skiff-cri (and of containerd) sampled every 10 ms
 * during the pulls. Targets: (b) at most 0.8x containerd's time; RSS under 150 MiB.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { rpc, type SkiffClients } from "../../cri/src/cli/client.js";
import type { TarEntry } from "../../cri/src/core/archive/tar-writer.js";
import {
  pushPauseImage,
  startContainerd,
  unmountUnder,
  type RunningContainerd,
} from "../harness/containerd.js";
import {
  buildImage,
  buildLayer,
  busyboxImage,
  noise,
  pushImage,
  type BuiltImage,
} from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { memoryOf, mib, MiB, printTable, ratio, sampleRss, stats } from "./measure.js";

const RUNS = Number(process.env.RUNS ?? 5);
const MB = 1_000_000;

/** Layer i of the large image: ~27.6 MB of noise and ~14.4 MB of text, ~42 MB in all. */
function largeLayerEntries(i: number): TarEntry[] {
  const dir = `usr/lib/bench${i}`;
  const entries: TarEntry[] = [
    { name: "usr", type: "directory", mode: 0o755 },
    { name: "usr/lib", type: "directory", mode: 0o755 },
    { name: dir, type: "directory", mode: 0o755 },
    { name: `${dir}/small`, type: "directory", mode: 0o755 },
    { name: `${dir}/text`, type: "directory", mode: 0o755 },
  ];
  for (let f = 0; f < 4; f++) {
    entries.push({ name: `${dir}/blob${f}.bin`, type: "file", body: noise(6 * MB, i * 100 + f) });
  }
  const small = noise(400 * 9000, i * 100 + 50);
  for (let f = 0; f < 400; f++) {
    entries.push({
      name: `${dir}/small/f${f}.so`,
      type: "file",
      body: small.subarray(f * 9000, (f + 1) * 9000),
    });
  }
  for (let f = 0; f < 200; f++) {
    const lines: string[] = [];
    for (let n = 0; lines.length * 36 < 72_000; n++)
      lines.push(`layer ${i} file ${f} line ${String(n).padStart(8, "0")} ok\n`);
    entries.push({ name: `${dir}/text/t${f}.txt`, type: "file", body: lines.join("") });
  }
  return entries;
}

function largeImage(): BuiltImage {
  return buildImage({
    layers: [1, 2, 3, 4, 5].map((i) => buildLayer(largeLayerEntries(i))),
  });
}

interface Subject {
  name: string;
  pid: number;
  clients: SkiffClients;
  root: string;
  samples: Record<string, number[]>;
  peakRss: Record<string, number>;
}

const compressed = (image: BuiltImage): number =>
  image.config.descriptor.size + image.layers.reduce((n, l) => n + l.descriptor.size, 0);

function duBytes(dir: string): number {
  const r = spawnSync("du", ["-sb", "-x", dir], { encoding: "utf8" });
  return Number(r.stdout.split("\t")[0] ?? NaN);
}

async function pullOnce(subject: Subject, name: string, ref: string, count: boolean) {
  const sampler = sampleRss(subject.pid);
  const start = process.hrtime.bigint();
  await rpc(subject.clients.image, "PullImage", { image: { image: ref } }, 600_000);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const { peak } = sampler.stop();
  await rpc(subject.clients.image, "RemoveImage", { image: { image: ref } }, 120_000);
  if (!count) return;
  (subject.samples[name] ??= []).push(ms);
  subject.peakRss[name] = Math.max(subject.peakRss[name] ?? 0, peak);
}

async function main(): Promise<void> {
  let registry: TestRegistry | undefined;
  let dirs: DaemonDirs | undefined;
  let skiff: RunningDaemon | undefined;
  let containerd: RunningContainerd | undefined;
  const cniDir = mkdtempSync("/tmp/skiff-bench-cni-");
  const started = Date.now();
  try {
    const images = { busybox: busyboxImage(), large: largeImage() };
    registry = await startRegistry();
    const refs: Record<string, string> = {};
    for (const [name, image] of Object.entries(images)) {
      await pushImage(registry, `bench/${name}`, "v1", image);
      refs[name] = `${registry.host}/bench/${name}:v1`;
    }
    const pause = await pushPauseImage(registry);
    console.log(
      `images built and pushed in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
        Object.entries(images)
          .map(
            ([n, im]) =>
              `${n} ${im.layers.length} layers, ${(compressed(im) / MB).toFixed(1)} MB compressed`,
          )
          .join("; "),
    );

    dirs = tempDirs("skiff-bench-pull-");
    skiff = await startDaemon(dirs, ["--log-level=info", `--cni-conf-dir=${cniDir}`]);
    containerd = await startContainerd({
      cniConfDir: cniDir,
      sandboxImage: pause,
      registryHosts: [registry.host],
      registry,
    });
    const subjects: Subject[] = [
      {
        name: "skiff-cri",
        pid: skiff.process.pid!,
        clients: skiff.clients,
        root: dirs.root,
        samples: {},
        peakRss: {},
      },
      {
        name: "containerd",
        pid: containerd.pid,
        clients: containerd.clients,
        root: containerd.root,
        samples: {},
        peakRss: {},
      },
    ];
    const idle = subjects.map((s) => memoryOf(s.pid).rss);
    const emptyRoot = subjects.map((s) => duBytes(s.root));

    for (let run = 0; run <= RUNS; run++) {
      const order = run % 2 === 0 ? subjects : [...subjects].reverse();
      for (const name of Object.keys(images)) {
        for (const subject of order) await pullOnce(subject, name, refs[name]!, run > 0);
      }
      if (run > 0) process.stdout.write(`run ${run}/${RUNS} done\r`);
    }
    const afterRoot = subjects.map((s) => duBytes(s.root));

    console.log(
      `\nCold pulls through the CRI from ${registry.url}, ${RUNS} interleaved runs ` +
        `(after 1 warm-up), image removed after each pull`,
    );
    for (const [name, image] of Object.entries(images)) {
      const size = compressed(image);
      const unpacked = image.layers.reduce((n, l) => n + gunzipSync(l.bytes).length, 0);
      console.log(
        `\n(${name === "busybox" ? "a" : "b"}) ${name}: ${image.layers.length} layers, ` +
          `${(size / MB).toFixed(1)} MB compressed, ${(unpacked / MB).toFixed(1)} MB unpacked (tar)`,
      );
      const st = subjects.map((s) => stats(s.samples[name] ?? []));
      printTable(
        ["runtime", "min ms", "median ms", "p90 ms", "MB/s", "÷containerd", "peak RSS MiB"],
        subjects.map((s, i) => [
          s.name,
          st[i]!.min.toFixed(0),
          st[i]!.median.toFixed(0),
          st[i]!.p90.toFixed(0),
          (size / MB / (st[i]!.median / 1000)).toFixed(1),
          ratio(st[i]!.median, st[1]!.median),
          mib(s.peakRss[name] ?? NaN),
        ]),
      );
      console.log(
        `  samples ms: ${subjects.map((s) => `${s.name} [${(s.samples[name] ?? []).map((x) => x.toFixed(0)).join(", ")}]`).join("; ")}`,
      );
    }
    const skiffMem = memoryOf(subjects[0]!.pid);
    const skiffPeak = Math.max(...Object.values(subjects[0]!.peakRss));
    const largeRatio = stats(subjects[0]!.samples.large ?? []).median;
    const ctdLarge = stats(subjects[1]!.samples.large ?? []).median;
    console.log(
      `\nRSS: skiff-cri idle ${mib(idle[0]!)} MiB, peak during pulls ${mib(skiffPeak)} MiB, ` +
        `VmHWM ${mib(skiffMem.hwm)} MiB; containerd idle ${mib(idle[1]!)} MiB, ` +
        `VmHWM ${mib(memoryOf(subjects[1]!.pid).hwm)} MiB`,
    );
    console.log(
      `roots before/after the runs (du -sb): ` +
        subjects
          .map((s, i) => `${s.name} ${mib(emptyRoot[i]!)} → ${mib(afterRoot[i]!)} MiB`)
          .join(", "),
    );
    const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");
    console.log(
      `targets: (b) ≤ 0.8x containerd: ${ratio(largeRatio, ctdLarge)}x ` +
        `${verdict(largeRatio / ctdLarge <= 0.8)}; skiff-cri RSS < 150 MiB: ` +
        `${mib(skiffPeak)} MiB ${verdict(skiffPeak < 150 * MiB)}`,
    );
  } finally {
    await containerd?.stop();
    if (skiff) await skiff.stop();
    if (dirs) {
      unmountUnder(dirs.dir);
      removeDirs(dirs);
    }
    await registry?.stop();
    rmSync(cniDir, { recursive: true, force: true });
    console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

await main();
