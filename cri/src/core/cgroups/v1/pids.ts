/**
 * cgroup v1 "pids": pids.max limits the tasks (processes and threads) in the cgroup; once
 * reached, fork()/clone() fail with EAGAIN. pids.current counts them.
 */
import { file, parseLimit, parseNumber, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { isSet, type LinuxResources } from "../resources.js";
import type { CgroupStats } from "../stats.js";

/** OCI pids.limit as the pids.max text: negative → "max". */
export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}

export async function applyPids(fs: CgroupFs, dir: string, r: LinuxResources): Promise<void> {
  if (r.pids !== undefined && isSet(r.pids.limit)) {
    await fs.write(file(dir, "pids.max"), pidsMax(r.pids.limit));
  }
}

export async function readPidsStats(fs: CgroupFs, dir: string, out: CgroupStats): Promise<void> {
  const path = file(dir, "pids.current");
  const current = parseNumber(await fs.read(path), path);
  const limit = parseLimit(await fs.read(file(dir, "pids.max")));
  out.pids = limit === undefined ? { current } : { current, limit };
}

export const pidsV1: Controller = { name: "pids", apply: applyPids, stats: readPidsStats };
