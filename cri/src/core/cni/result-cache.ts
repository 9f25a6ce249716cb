/**
 * The on-disk record of each attachment, `<dir>/<network>-<containerId>-<ifName>.json`,
 * written atomically (temp file, fsync, rename). It holds the network configuration the
 * attachment was made with, its CNI_ARGS and capability args, the netns path and, once
 * ADD succeeded, the result. It is written before ADD starts (so a crash mid-ADD can
 * still be undone with the right config) and removed after a successful DEL: DEL works
 * after a daemon crash and after the conf dir changed.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SystemError, errnoCode } from "../errors.js";
import { makeDirs } from "../host/make-dirs.js";
import type { NetworkConfigList } from "./config.js";
import type { CniResult } from "./result.js";
import type { CapabilityArgs } from "./runtime-config.js";

export const cacheKind = "skiff.dev/cni-attachment/v1";

export interface CachedAttachment {
  kind: typeof cacheKind;
  network: string;
  containerId: string;
  ifName: string;
  netns: string;
  args: [string, string][];
  capabilityArgs: CapabilityArgs;
  config: NetworkConfigList;
  /** Absent while ADD has not completed. */
  result?: CniResult;
  createdAt: string;
}

export class ResultCache {
  constructor(readonly dir: string) {}

  pathOf(network: string, containerId: string, ifName: string): string {
    return join(this.dir, `${network}-${containerId}-${ifName}.json`);
  }

  write(entry: CachedAttachment): void {
    makeDirs(this.dir, 0o700);
    const path = this.pathOf(entry.network, entry.containerId, entry.ifName);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      const fd = openSync(tmp, "w", 0o600);
      try {
        writeSync(fd, JSON.stringify(entry));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
      throw new SystemError("write CNI cache", path, err);
    }
  }

  read(network: string, containerId: string, ifName: string): CachedAttachment | undefined {
    return readEntry(this.pathOf(network, containerId, ifName));
  }

  remove(network: string, containerId: string, ifName: string): void {
    const path = this.pathOf(network, containerId, ifName);
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw new SystemError("remove CNI cache", path, err);
    }
  }

  /** Every valid entry; with `containerId`, only that container's. */
  list(containerId?: string): CachedAttachment[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw new SystemError("list CNI cache", this.dir, err);
    }
    const out: CachedAttachment[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith(".json")) continue;
      if (containerId !== undefined && !name.includes(`-${containerId}-`)) continue;
      const entry = readEntry(join(this.dir, name));
      if (entry !== undefined && (containerId === undefined || entry.containerId === containerId)) {
        out.push(entry);
      }
    }
    return out;
  }
}

function readEntry(path: string): CachedAttachment | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new SystemError("read CNI cache", path, err);
  }
  try {
    const v = JSON.parse(text) as Partial<CachedAttachment>;
    if (v.kind !== cacheKind || typeof v.network !== "string" || typeof v.containerId !== "string")
      return undefined;
    return v as CachedAttachment;
  } catch {
    return undefined;
  }
}
