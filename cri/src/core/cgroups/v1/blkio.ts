/**
 * cgroup v1 "blkio": proportional weight and throttling. With the CFQ scheduler gone
 * (kernel 5.0+), the weight files are BFQ's (blkio.bfq.weight, blkio.bfq.weight_device,
 * 1..1000) and only exist when BFQ is built; blkio.weight is used where it exists.
 * Throttle files take one "major:minor value" line per write.
 */
import { failedPrecondition } from "../../errors.js";
import { file, readOptional, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources, type LinuxThrottleDevice } from "../resources.js";
import type { BlkioDeviceStats, CgroupStats } from "../stats.js";

/** "major:minor Read|Write|... n" lines into per-device read and write figures. */
export function parseBlkioLines(bytes: string, ios: string): BlkioDeviceStats[] {
  const devices = new Map<string, BlkioDeviceStats>();
  const add = (text: string, read: keyof BlkioDeviceStats, write: keyof BlkioDeviceStats) => {
    for (const line of text.split("\n")) {
      const m = /^(\d+):(\d+) (Read|Write) (\d+)$/.exec(line.trim());
      if (!m) continue;
      const key = `${m[1]}:${m[2]}`;
      const d = devices.get(key) ?? {
        major: Number(m[1]),
        minor: Number(m[2]),
        readBytes: 0,
        writeBytes: 0,
        reads: 0,
        writes: 0,
      };
      d[m[3] === "Read" ? read : write] = Number(m[4]);
      devices.set(key, d);
    }
  };
  add(bytes, "readBytes", "writeBytes");
  add(ios, "reads", "writes");
  return [...devices.values()];
}

async function weightFile(fs: CgroupFs, dir: string, base: string): Promise<string> {
  const cfq = file(dir, `blkio.${base}`);
  if (await fs.exists(cfq)) return cfq;
  const bfq = file(dir, `blkio.bfq.${base}`);
  if (await fs.exists(bfq)) return bfq;
  throw failedPrecondition(`blkio ${base}: neither blkio.${base} nor blkio.bfq.${base} exists`);
}

export const blkioV1: Controller = {
  name: "blkio",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    const b = r.blockIO;
    if (b === undefined) return;
    if (isSet(b.weight)) await fs.write(await weightFile(fs, dir, "weight"), String(b.weight));
    if (isSet(b.leafWeight)) {
      await fs.write(file(dir, "blkio.leaf_weight"), String(b.leafWeight));
    }
    for (const d of b.weightDevice ?? []) {
      if (isSet(d.weight)) {
        await fs.write(
          await weightFile(fs, dir, "weight_device"),
          `${d.major}:${d.minor} ${d.weight}`,
        );
      }
      if (isSet(d.leafWeight)) {
        await fs.write(
          file(dir, "blkio.leaf_weight_device"),
          `${d.major}:${d.minor} ${d.leafWeight}`,
        );
      }
    }
    const throttle = async (name: string, list: LinuxThrottleDevice[] | undefined) => {
      for (const d of list ?? []) {
        await fs.write(file(dir, `blkio.throttle.${name}`), `${d.major}:${d.minor} ${d.rate}`);
      }
    };
    await throttle("read_bps_device", b.throttleReadBpsDevice);
    await throttle("write_bps_device", b.throttleWriteBpsDevice);
    await throttle("read_iops_device", b.throttleReadIOPSDevice);
    await throttle("write_iops_device", b.throttleWriteIOPSDevice);
  },

  async stats(fs: CgroupFs, dir: string, out: CgroupStats) {
    const read = async (name: string) =>
      (await readOptional(fs, file(dir, `blkio.throttle.${name}_recursive`))) ?? "";
    out.blkio = parseBlkioLines(await read("io_service_bytes"), await read("io_serviced"));
  },
};
