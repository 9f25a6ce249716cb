/**
 * Mounting a snapshot's mount descriptions (core/snapshots) at a container's rootfs
 * directory. Node has no mount(2): `skiff-shim mount` and util-linux's umount do it, one
 * short process each. Unmount is idempotent and lazy-free: it retries while the mount is busy.
 */
import { readFile } from "node:fs/promises";
import { SystemError } from "../errors.js";
import type { Mount } from "../snapshots/snapshotter.js";
import { launchFile, shimBinary } from "../shim/launch.js";
import { MS } from "../shim/plan.js";
import { mountToShim } from "../container/plan-from-spec.js";

export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    try {
      await mountOne(m.type, m.source, target, m.options);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new SystemError("mount rootfs", target, new Error(stderr || (err as Error).message));
    }
  }
}

/**
 * One mount(2) on the host by `skiff-shim mount`, the options turned into flags and data
 * as for a container's mounts. Rejects as launchFile does (the shim's error on stderr).
 */
export async function mountOne(
  type: string,
  source: string,
  target: string,
  options: readonly string[],
  timeoutMs?: number,
): Promise<void> {
  const { flags, data } = mountToShim(
    { destination: target, type, source, options: [...options] },
    "mount",
  );
  const fsType = flags & MS.BIND ? "none" : type;
  await launchFile(
    shimBinary(),
    ["mount", fsType, source, target, String(flags), data],
    timeoutMs === undefined ? {} : { timeoutMs },
  );
}

export async function isMountPoint(path: string): Promise<boolean> {
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  const escaped = path.replace(/ /g, "\\040");
  return mounts.split("\n").some((line) => line.split(" ")[4] === escaped);
}

/** Unmounts everything at `target` (idempotent). */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 20 && (await isMountPoint(target)); i++) {
    try {
      await launchFile("umount", [target]);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? "";
      if (/not mounted|no mount point/i.test(stderr)) return;
      if (i === 19)
        throw new SystemError(
          "unmount",
          target,
          new Error(stderr.trim() || (err as Error).message),
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
