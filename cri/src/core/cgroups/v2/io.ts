/**
 * cgroup v2 "io": proportional weight and limits. With BFQ, io.bfq.weight takes the OCI
 * weight as it is (1..1000); otherwise io.weight (1..10000) gets it scaled. Limits are
 * io.max lines "major:minor rbps=N wbps=N riops=N wiops=N", one device per write.
 * leafWeight has no v2 counterpart and is not applied.
 */
import { file, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources } from "../resources.js";
import type { BlkioDeviceStats, CgroupStats } from "../stats.js";

/** io.stat: "major:minor rbytes=.. wbytes=.. rios=.. wios=.. ..." one line per device. */
export function parseIoStat(text: string): BlkioDeviceStats[] {
  const out: BlkioDeviceStats[] = [];
  for (const line of text.split("\n")) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (!m) continue;
    const kv = new Map(fields.map((f) => f.split("=") as [string, string]));
    const n = (k: string) => Number(kv.get(k) ?? 0);
    out.push({
      major: Number(m[1]),
      minor: Number(m[2]),
      readBytes: n("rbytes"),
      writeBytes: n("wbytes"),
      reads: n("rios"),
      writes: n("wios"),
    });
  }
  return out;
}

/** OCI blkio weight (10..1000) → io.weight (1..10000): 1 + (weight - 10) * 9999 / 990. */
export function blkioWeightToIoWeight(weight: number): number {
  const w = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/** io.max lines for the OCI throttle lists, one per device. */
export function ioMaxLines(r: LinuxResources): string[] {
  const b = r.blockIO;
  if (b === undefined) return [];
  const lines = new Map<string, string[]>();
  const add = (key: string, list: { major: number; minor: number; rate: number }[] | undefined) => {
    for (const d of list ?? []) {
      const dev = `${d.major}:${d.minor}`;
      const rate = d.rate > 0 ? String(d.rate) : "max";
      lines.set(dev, [...(lines.get(dev) ?? []), `${key}=${rate}`]);
    }
  };
  add("rbps", b.throttleReadBpsDevice);
  add("wbps", b.throttleWriteBpsDevice);
  add("riops", b.throttleReadIOPSDevice);
  add("wiops", b.throttleWriteIOPSDevice);
  return [...lines].map(([dev, kv]) => `${dev} ${kv.join(" ")}`);
}

export const ioV2: Controller = {
  name: "io",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const b = r.blockIO;
    if (b === undefined) return;
    const bfq = await fs.exists(file(dir, "io.bfq.weight"));
    if (isSet(b.weight)) {
      if (bfq) await fs.write(file(dir, "io.bfq.weight"), String(b.weight));
      else await fs.write(file(dir, "io.weight"), `default ${blkioWeightToIoWeight(b.weight)}`);
    }
    for (const d of b.weightDevice ?? []) {
      if (!isSet(d.weight)) continue;
      const dev = `${d.major}:${d.minor}`;
      if (bfq) await fs.write(file(dir, "io.bfq.weight"), `${dev} ${d.weight}`);
      else await fs.write(file(dir, "io.weight"), `${dev} ${blkioWeightToIoWeight(d.weight)}`);
    }
    for (const line of ioMaxLines(r)) await fs.write(file(dir, "io.max"), line);
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    out.blkio = parseIoStat((await readOptional(fs, file(dir, "io.stat"))) ?? "");
  },
};
