/**
 * cgroup v2 freezing (core, no controller to enable): write 1 to cgroup.freeze, then the
 * cgroup is frozen once cgroup.events says "frozen 1"; write 0 and wait for "frozen 0"
 * to thaw. A freeze that does not complete in time is undone.
 */
import { SkiffError } from "../../errors.js";
import { file, parseKeyedLines, type CgroupFs } from "../cgroup-fs.js";
import { pollUntil } from "../freeze-wait.js";

export async function isFrozenV2(fs: CgroupFs, dir: string): Promise<boolean> {
  return parseKeyedLines(await fs.read(file(dir, "cgroup.events"))).get("frozen") === 1;
}

async function setFrozen(fs: CgroupFs, dir: string, frozen: boolean, timeoutMs: number) {
  await fs.write(file(dir, "cgroup.freeze"), frozen ? "1" : "0");
  return pollUntil(async () => (await isFrozenV2(fs, dir)) === frozen, timeoutMs);
}

export async function freezeV2(fs: CgroupFs, dir: string, timeoutMs: number): Promise<void> {
  if (!(await setFrozen(fs, dir, true, timeoutMs))) {
    await fs.write(file(dir, "cgroup.freeze"), "0");
    throw new SkiffError("DeadlineExceeded", `freeze ${dir}: not frozen after ${timeoutMs} ms`);
  }
}

export async function thawV2(fs: CgroupFs, dir: string, timeoutMs: number): Promise<void> {
  if (!(await setFrozen(fs, dir, false, timeoutMs))) {
    throw new SkiffError("DeadlineExceeded", `thaw ${dir}: still frozen after ${timeoutMs} ms`);
  }
}
