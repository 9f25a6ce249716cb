/**
 * A pod's /dev/shm: one tmpfs (64 MiB, mode 1777, nosuid/nodev/noexec) mounted on
 * `<sandbox dir>/shm` by `skiff-shim mount`, which the pod's containers bind-mount. Node
 * cannot call mount(2), so both directions are short-lived helper processes. unmount is
 * idempotent (nothing mounted is fine) and lazy (MNT_DETACH) so a container still
 * holding it cannot block the pod's removal.
 */
import { mkdirSync } from "node:fs";
import { SystemError } from "../../core/errors.js";
import { mountPoints } from "../../core/netns/netns.js";
import { launchFile } from "../../core/shim/launch.js";
import { mountOne } from "../../core/rootfs/mount.js";

export const shmSizeBytes = 64 * 1024 * 1024;

export async function mountShm(path: string): Promise<void> {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  if (mountPoints().has(path)) return;
  try {
    const options = ["nosuid", "nodev", "noexec", "mode=1777", `size=${shmSizeBytes}`];
    await mountOne("tmpfs", "shm", path, options, 10_000);
  } catch (err) {
    throw new SystemError("mount pod /dev/shm", path, failure(err));
  }
}

export async function unmountShm(path: string): Promise<void> {
  for (let i = 0; i < 8 && mountPoints().has(path); i++) {
    try {
      await launchFile("umount", ["-l", path], { timeoutMs: 10_000 });
    } catch (err) {
      if (mountPoints().has(path))
        throw new SystemError("unmount pod /dev/shm", path, failure(err));
    }
  }
}

function failure(err: unknown): Error {
  const e = err as { stderr?: unknown; message?: string };
  const stderr = typeof e.stderr === "string" ? e.stderr.trim() : "";
  return new Error(stderr !== "" ? stderr : (e.message ?? String(err)));
}
