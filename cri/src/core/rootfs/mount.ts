/**
 * Mounting a snapshot's mount descriptions (core/snapshots) at a container's rootfs
 * directory. Node has no mount(2): util-linux's mount and umount do it, one short
 * process each. Unmount is idempotent and lazy-free: it retries while the mount is busy.
 */
import { readFile } from "node:fs/promises";
import { SystemError } from "../errors.js";
import type { Mount } from "../snapshots/snapshotter.js";
import { launchFile } from "../shim/launch.js";

export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    const args = [
      "-t",
      m.type === "bind" ? "none" : m.type,
      "-o",
      m.options.join(","),
      m.source,
      target,
    ];
    if (m.type === "bind") args.splice(0, 2);
    try {
      await launchFile("mount", args);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new SystemError("mount rootfs", target, new Error(stderr || (err as Error).message));
    }
  }
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
