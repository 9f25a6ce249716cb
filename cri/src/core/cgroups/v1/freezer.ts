/**
 * cgroup v1 "freezer": freezer.state is THAWED, FREEZING or FROZEN. Writing FROZEN starts
 * freezing; it is done only when a read says FROZEN (FREEZING means tasks are still
 * running toward the freeze point, and the write is repeated to retry them). A freeze
 * that does not finish in time is undone, so a failed freeze never leaves tasks stuck.
 */
import { SkiffError } from "../../errors.js";
import { file, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import { pollUntil } from "../freeze-wait.js";

export type FreezerState = "THAWED" | "FREEZING" | "FROZEN";

export async function freezerState(fs: CgroupFs, dir: string): Promise<FreezerState> {
  return (await fs.read(file(dir, "freezer.state"))).trim() as FreezerState;
}

export async function freezeV1(fs: CgroupFs, dir: string, timeoutMs: number): Promise<void> {
  const path = file(dir, "freezer.state");
  const done = await pollUntil(async () => {
    await fs.write(path, "FROZEN");
    return (await freezerState(fs, dir)) === "FROZEN";
  }, timeoutMs);
  if (!done) {
    await fs.write(path, "THAWED");
    throw new SkiffError("DeadlineExceeded", `freeze ${dir}: still FREEZING after ${timeoutMs} ms`);
  }
}

export async function thawV1(fs: CgroupFs, dir: string, timeoutMs: number): Promise<void> {
  const path = file(dir, "freezer.state");
  const done = await pollUntil(async () => {
    await fs.write(path, "THAWED");
    return (await freezerState(fs, dir)) === "THAWED";
  }, timeoutMs);
  if (!done) {
    throw new SkiffError("DeadlineExceeded", `thaw ${dir}: not THAWED after ${timeoutMs} ms`);
  }
}

/** Freezer has no resources to apply: it is driven by freeze() and thaw(). */
export const freezerV1: Controller = { name: "freezer" };
