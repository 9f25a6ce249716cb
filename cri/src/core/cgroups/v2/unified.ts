/**
 * OCI `unified`: raw cgroup v2 "file → value" pairs, written after the typed fields. A key
 * must be a plain control-file name ("memory.high", "cpu.uclamp.min"); the controller it
 * belongs to (the part before the first dot) must be enabled for the cgroup, except for
 * the core "cgroup." files.
 */
import { failedPrecondition, invalidArgument } from "../../errors.js";
import { file, type CgroupFs } from "../cgroup-fs.js";

export function checkUnifiedKey(key: string, controllers: readonly string[]): void {
  if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(key)) {
    throw invalidArgument(`unified key ${JSON.stringify(key)} is not a cgroup v2 file name`);
  }
  const controller = key.slice(0, key.indexOf("."));
  if (controller !== "cgroup" && !controllers.includes(controller)) {
    throw failedPrecondition(
      `unified key ${key}: controller ${controller} is not enabled for this cgroup`,
    );
  }
}

export async function applyUnified(
  fs: CgroupFs,
  dir: string,
  unified: Record<string, string> | undefined,
  controllers: readonly string[],
): Promise<void> {
  for (const [key, value] of Object.entries(unified ?? {})) {
    checkUnifiedKey(key, controllers);
    await fs.write(file(dir, key), value);
  }
}
