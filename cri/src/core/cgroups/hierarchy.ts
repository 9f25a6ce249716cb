/**
 * Where each cgroup controller lives: parsed from /proc/self/mountinfo (proc(5)), with the
 * cgroup2 mount's cgroup.controllers for the controllers v2 offers.
 *
 * A controller is bound to at most one hierarchy: a v1 mount names its controllers in its
 * super options ("rw,cpu,cpuacct"; "name=systemd" for a named hierarchy with none), and a
 * controller bound to v1 is absent from cgroup2's cgroup.controllers. So the map is:
 * every controller of a v1 mount → v1; every controller the cgroup2 root offers → v2.
 * Hosts seen in practice: pure v1, hybrid (v1 plus cgroup2 at /sys/fs/cgroup/unified, which
 * may still carry controllers such as hugetlb), and pure v2 (cgroup2 at /sys/fs/cgroup).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SystemError, errnoCode } from "../errors.js";

export type CgroupVersion = 1 | 2;

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** The mounted directory inside its filesystem (for cgroups: inside the hierarchy). */
  root: string;
  mountpoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

export interface ControllerMount {
  /** Kernel name ("cpu", "memory", ...) or a named v1 hierarchy ("name=systemd"). */
  controller: string;
  version: CgroupVersion;
  mountpoint: string;
  /** The mount's root inside the hierarchy ("/" unless a sub-tree is bind-mounted). */
  root: string;
}

export interface Hierarchies {
  /** controller → where it is mounted. Named v1 hierarchies appear as "name=<x>". */
  controllers: Map<string, ControllerMount>;
  /** The cgroup2 mount, when there is one (pure v2 or hybrid). */
  unified?: { mountpoint: string; root: string };
}

/** The controllers a v1 mount can carry (cgroups(7)); other options are mount flags. */
export const v1ControllerNames: readonly string[] = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "net_prio",
  "blkio",
  "perf_event",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
];

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/<pid>/mountinfo text; malformed lines are skipped. */
export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    const sep = fields.indexOf("-", 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    const [id, parent, , root, mountpoint] = fields;
    const fsType = fields[sep + 1];
    const source = fields[sep + 2];
    const superOptions = fields[sep + 3];
    if (
      id === undefined ||
      parent === undefined ||
      root === undefined ||
      mountpoint === undefined ||
      fsType === undefined ||
      source === undefined ||
      superOptions === undefined
    ) {
      continue;
    }
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      root: unescapeOctal(root),
      mountpoint: unescapeOctal(mountpoint),
      fsType,
      source: unescapeOctal(source),
      superOptions: superOptions.split(","),
    });
  }
  return out;
}

/** The controllers a cgroup v1 mount carries, from its super options. */
export function v1MountControllers(entry: MountInfoEntry): string[] {
  return entry.superOptions.filter((o) => v1ControllerNames.includes(o) || o.startsWith("name="));
}

/**
 * Build the controller map from parsed mountinfo and the cgroup2 root's cgroup.controllers
 * (a space-separated list, "" when there is no cgroup2 mount). The first mount of a
 * hierarchy wins, except that a mount of the whole hierarchy (root "/") beats a bind mount
 * of a sub-tree.
 */
export function hierarchiesFromMounts(
  mounts: readonly MountInfoEntry[],
  unifiedControllers: string,
): Hierarchies {
  const controllers = new Map<string, ControllerMount>();
  const better = (existing: ControllerMount | undefined, root: string): boolean =>
    existing === undefined || (existing.root !== "/" && root === "/");

  for (const m of mounts) {
    if (m.fsType !== "cgroup") continue;
    for (const c of v1MountControllers(m)) {
      if (better(controllers.get(c), m.root)) {
        controllers.set(c, { controller: c, version: 1, mountpoint: m.mountpoint, root: m.root });
      }
    }
  }

  let unified: Hierarchies["unified"];
  for (const m of mounts) {
    if (m.fsType !== "cgroup2") continue;
    if (unified === undefined || (unified.root !== "/" && m.root === "/")) {
      unified = { mountpoint: m.mountpoint, root: m.root };
    }
  }
  if (unified !== undefined) {
    for (const c of unifiedControllers.split(/\s+/)) {
      if (c === "" || controllers.has(c)) continue;
      controllers.set(c, { controller: c, version: 2, ...unified });
    }
  }
  return unified === undefined ? { controllers } : { controllers, unified };
}

/** True when the host is cgroup v2 only (no v1 hierarchy mounted). */
export function isPureV2(h: Hierarchies): boolean {
  return h.unified !== undefined && [...h.controllers.values()].every((c) => c.version === 2);
}

/**
 * Parse /proc/<pid>/cgroup ("hierarchy-id:controller-list:path"): controller → path inside
 * its hierarchy. The v2 line ("0::/path") is stored under the key "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (list === "") {
      out.set("", path);
      continue;
    }
    for (const c of list.split(",")) out.set(c, path);
  }
  return out;
}

/**
 * The directory of a process's cgroup for one controller ("" for the cgroup2 hierarchy),
 * given its /proc/<pid>/cgroup entry and the mount: the path inside the hierarchy, made
 * relative to the mount's root. Undefined when the cgroup is outside the mounted sub-tree.
 */
export function cgroupDirOf(
  procCgroup: Map<string, string>,
  h: Hierarchies,
  controller: string,
): string | undefined {
  const mount = controller === "" ? h.unified : h.controllers.get(controller);
  if (mount === undefined) return undefined;
  const key = controller !== "" && h.controllers.get(controller)?.version === 2 ? "" : controller;
  const path = procCgroup.get(key);
  if (path === undefined) return undefined;
  const root = mount.root === "/" ? "" : mount.root;
  if (root !== "" && path !== root && !path.startsWith(root + "/")) return undefined;
  return join(mount.mountpoint, path.slice(root.length));
}

/** Discover this host's hierarchies from /proc/self/mountinfo. */
export async function discoverHierarchies(
  mountinfoPath = "/proc/self/mountinfo",
): Promise<Hierarchies> {
  let text: string;
  try {
    text = await readFile(mountinfoPath, "utf8");
  } catch (err) {
    throw new SystemError("read", mountinfoPath, err);
  }
  const mounts = parseMountinfo(text);
  const unified = hierarchiesFromMounts(mounts, "").unified;
  let controllers = "";
  if (unified !== undefined) {
    const path = join(unified.mountpoint, "cgroup.controllers");
    try {
      controllers = await readFile(path, "utf8");
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw new SystemError("read", path, err);
    }
  }
  return hierarchiesFromMounts(mounts, controllers.trim());
}

/** Read /proc/<pid>/cgroup for a process ("self" by default). */
export async function readProcCgroup(pid: number | "self" = "self"): Promise<Map<string, string>> {
  const path = `/proc/${pid}/cgroup`;
  try {
    return parseProcCgroup(await readFile(path, "utf8"));
  } catch (err) {
    throw new SystemError("read", path, err, errnoCode(err) === "ENOENT" ? "NotFound" : "Internal");
  }
}
