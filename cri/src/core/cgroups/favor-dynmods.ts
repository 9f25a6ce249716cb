/**
 * The kernel's favordynmods (a cgroup2 mount option, Linux 6.0+). Moving a task into a
 * cgroup (writing cgroup.procs, as every container create and exec does for each v1
 * hierarchy) takes the global cgroup_threadgroup_rwsem for writing, which first waits
 * for an RCU grace period (about 10 ms on this kind of machine) unless a migration
 * happened within the last one. With favordynmods, migrations skip that wait and
 * forks and exits pay a little more instead. The switch is global: every process on
 * the node, other runtimes included, sees it. skiff-cri sets it only when started
 * with --cgroup-favor-dynmods, and puts the mount back as it was when it stops.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { SkiffError, SystemError } from "../errors.js";

const run = promisify(execFile);
const option = "favordynmods";

export interface Cgroup2Mount {
  mountPoint: string;
  /** The filesystem's own options (nsdelegate, memory_recursiveprot, ...), without rw/ro. */
  options: string[];
}

/** The first cgroup2 mount in a mountinfo text, or undefined. */
export function cgroup2Mount(mountinfo: string): Cgroup2Mount | undefined {
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (right === undefined || left === undefined) continue;
    const [fstype, , superOptions = ""] = right.split(" ");
    if (fstype !== "cgroup2") continue;
    const mountPoint = (left.split(" ")[4] ?? "").replace(/\\040/g, " ");
    const options = superOptions.split(",").filter((o) => o !== "" && o !== "rw" && o !== "ro");
    return { mountPoint, options };
  }
  return undefined;
}

/**
 * Turns favordynmods on; resolves with what turns it back off, or undefined when it
 * was on already (then nothing is to be undone).
 */
export async function favorDynmods(
  mountinfo = readFileSync("/proc/self/mountinfo", "utf8"),
): Promise<(() => Promise<void>) | undefined> {
  const mount = cgroup2Mount(mountinfo);
  if (!mount)
    throw new SkiffError("FailedPrecondition", "--cgroup-favor-dynmods: no cgroup2 is mounted");
  if (mount.options.includes(option)) return undefined;
  await remount(mount.mountPoint, [...mount.options, option]);
  return () => remount(mount.mountPoint, mount.options);
}

async function remount(path: string, options: string[]): Promise<void> {
  try {
    // exactly these options: mount would otherwise add the ones in force (mountinfo)
    await run(
      "mount",
      ["--options-source=disable", "-o", ["remount", ...options].join(","), path],
      { timeout: 10_000 },
    );
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new SystemError(
      `remount (${options.join(",") || "no options"})`,
      path,
      new Error(stderr || (err as Error).message),
      "FailedPrecondition",
    );
  }
}
