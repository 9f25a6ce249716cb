/**
 * Pod network namespaces as named files: `<dir>/<name>` is a bind mount of a network
 * namespace (an nsfs file), the way `ip netns add` keeps one alive with no process in it.
 * CNI plugins and skiff-shim join it by path.
 *
 * Node.js cannot call unshare(2), setns(2) or mount(2), so the kernel work is done in one
 * short-lived process: `skiff-shim netns <file>` creates the namespace, bind-mounts it
 * onto the (pre-created, empty) file, and brings loopback up inside it before exiting
 * (as `unshare --net=<file> ip link set lo up` would, in two programs). Removal is
 * `umount <file>` (repeated while the path is still a mount point) then unlink; a
 * namespace whose last reference goes away is freed by the kernel with everything in it
 * (veths included).
 *
 * Invariants: names are single path components of [A-Za-z0-9_.-]; a file in the directory
 * that is not a mount point is debris of a crash between create-file and mount, and
 * `list()` reports it so recovery can remove it; `remove()` is idempotent.
 *
 * Propagation: the directory is a plain directory (no shared self-bind as `ip netns`
 * makes). Containers pivot_root and detach the host tree, so they hold no copy of these
 * mounts; a process that unshares its mount namespace while a pod exists would keep that
 * pod's namespace alive until it exits.
 */
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { SkiffError, SystemError, errnoCode, invalidArgument } from "../errors.js";
import { makeDirs } from "../host/make-dirs.js";
import { launchFile, shimBinary } from "../shim/launch.js";

export interface NetnsOptions {
  /** Directory holding the namespace files, e.g. /run/skiff/netns. */
  dir: string;
  /** Timeout of each helper command (skiff-shim netns, umount), in ms. */
  timeoutMs?: number;
}

export interface NetnsEntry {
  name: string;
  path: string;
  /** Whether a namespace is mounted on the file (false: crash debris to remove). */
  mounted: boolean;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class NetnsManager {
  readonly dir: string;
  private readonly timeoutMs: number;

  constructor(options: NetnsOptions) {
    this.dir = options.dir;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  pathOf(name: string): string {
    if (!namePattern.test(name) || name === "." || name === "..") {
      throw invalidArgument(`network namespace name "${name}" is not a plain [A-Za-z0-9_.-] name`);
    }
    return join(this.dir, name);
  }

  /**
   * Creates the namespace `name` with loopback up and returns its path. A name that
   * already holds a namespace is AlreadyExists; leftover debris (a file with no mount)
   * is reused.
   */
  async create(name: string): Promise<string> {
    const path = this.pathOf(name);
    makeDirs(this.dir, 0o711);
    if (isMountPoint(path))
      throw new SkiffError("AlreadyExists", `network namespace ${path} exists`);
    try {
      closeSync(openSync(path, "a", 0o444));
    } catch (err) {
      throw new SystemError("create network namespace file", path, err);
    }
    try {
      await launchFile(shimBinary(), ["netns", path], {
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      await this.remove(name).catch(() => undefined);
      throw new SystemError("create network namespace", path, commandFailure(err));
    }
    return path;
  }

  /** Unmounts and unlinks the namespace file; a missing one is fine. */
  async remove(name: string): Promise<void> {
    const path = this.pathOf(name);
    for (let i = 0; i < 8 && isMountPoint(path); i++) {
      try {
        await launchFile("umount", [path], { timeoutMs: this.timeoutMs });
      } catch (err) {
        if (isMountPoint(path)) {
          throw new SystemError("unmount network namespace", path, commandFailure(err));
        }
      }
    }
    if (isMountPoint(path)) {
      throw new SystemError("unmount network namespace", path, new Error("still mounted"));
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw new SystemError("remove network namespace", path, err);
    }
  }

  /** Every file in the directory, for recovery to compare with the pods it knows. */
  list(): NetnsEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw new SystemError("list network namespaces", this.dir, err);
    }
    const mounts = mountPoints();
    return names
      .filter((name) => namePattern.test(name))
      .sort()
      .map((name) => {
        const path = join(this.dir, name);
        return { name, path, mounted: mounts.has(path) };
      });
  }

  /** Whether `name` holds a live namespace. */
  exists(name: string): boolean {
    return isMountPoint(this.pathOf(name));
  }
}

/** Mount points of this process's mount namespace (octal escapes decoded). */
export function mountPoints(): Set<string> {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  const points = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) {
      points.add(
        field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      );
    }
  }
  return points;
}

function isMountPoint(path: string): boolean {
  return mountPoints().has(path);
}

function commandFailure(err: unknown): Error {
  const e = err as { stderr?: unknown; message?: string; killed?: boolean; code?: unknown };
  const stderr = typeof e.stderr === "string" ? e.stderr.trim() : "";
  const detail =
    e.killed === true ? "timed out" : stderr !== "" ? stderr : (e.message ?? String(err));
  return Object.assign(new Error(detail), {
    code: typeof e.code === "string" ? e.code : undefined,
  });
}
