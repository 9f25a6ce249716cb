/**
 * What spec validation needs to know about the host: which paths exist, which files are
 * namespaces, whether AppArmor/SELinux are on, the kernel's last capability and its
 * filesystem types. Behind an interface so validation is tested without root or a
 * particular machine (`fixedHostFacts`), and read from /proc and /sys in production.
 */

import { readFile, readlink, stat, statfs } from "node:fs/promises";

import { errnoCode } from "../errors.js";
import type { LinuxNamespaceType } from "./spec.js";

export type PathKind = "directory" | "file" | "other";

/** A namespace file: its identity (dev:ino) and, when the path is a /proc link, its type. */
export interface NamespaceFile {
  id: string;
  type?: LinuxNamespaceType;
}

export type NamespaceLookup = NamespaceFile | "missing" | "not-namespace" | "inaccessible";

export interface HostFacts {
  /** What is at a host path (symlinks followed), undefined when nothing is. */
  pathKind(path: string): Promise<PathKind | undefined>;
  namespaceFile(path: string): Promise<NamespaceLookup>;
  /** The identity of the runtime's own namespace of a type (to refuse joining it for sysctls). */
  hostNamespaceId(type: LinuxNamespaceType): Promise<string | undefined>;
  appArmorEnabled(): Promise<boolean>;
  selinuxEnabled(): Promise<boolean>;
  capLastCap(): Promise<number>;
  /** Filesystem types of /proc/filesystems. */
  filesystems(): Promise<ReadonlySet<string>>;
}

const NSFS_MAGIC = 0x6e736673;

/** /proc/<pid>/ns/<name> link names by OCI namespace type. */
export const procNamespaceNames: Readonly<Record<LinuxNamespaceType, string>> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

function namespaceTypeOfLink(target: string): LinuxNamespaceType | undefined {
  const m = /^([a-z_]+):\[\d+\]$/.exec(target);
  if (!m) return undefined;
  for (const [type, name] of Object.entries(procNamespaceNames)) {
    if (m[1] === name) return type as LinuxNamespaceType;
  }
  return undefined;
}

/** The real host, read from /proc and /sys. */
export function realHostFacts(): HostFacts {
  let capLastCap: number | undefined;
  let filesystems: ReadonlySet<string> | undefined;
  return {
    async pathKind(path) {
      try {
        const st = await stat(path);
        return st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";
      } catch {
        return undefined;
      }
    },
    async namespaceFile(path) {
      try {
        const [st, fs] = await Promise.all([stat(path), statfs(path)]);
        if (fs.type !== NSFS_MAGIC) return "not-namespace";
        const link = await readlink(path).catch(() => undefined);
        const type = link === undefined ? undefined : namespaceTypeOfLink(link);
        return { id: `${st.dev}:${st.ino}`, ...(type === undefined ? {} : { type }) };
      } catch (err) {
        const code = errnoCode(err);
        return code === "ENOENT" || code === "ENOTDIR" ? "missing" : "inaccessible";
      }
    },
    async hostNamespaceId(type) {
      try {
        const st = await stat(`/proc/self/ns/${procNamespaceNames[type]}`);
        return `${st.dev}:${st.ino}`;
      } catch {
        return undefined;
      }
    },
    async appArmorEnabled() {
      try {
        const [enabled] = await Promise.all([
          readFile("/sys/module/apparmor/parameters/enabled", "utf8"),
          stat("/sys/kernel/security/apparmor"),
        ]);
        return enabled.trim() === "Y";
      } catch {
        return false;
      }
    },
    async selinuxEnabled() {
      try {
        await stat("/sys/fs/selinux/enforce");
        return true;
      } catch {
        return false;
      }
    },
    async capLastCap() {
      capLastCap ??= Number((await readFile("/proc/sys/kernel/cap_last_cap", "utf8")).trim());
      return capLastCap;
    },
    async filesystems() {
      if (!filesystems) {
        const text = await readFile("/proc/filesystems", "utf8");
        filesystems = new Set(
          text
            .split("\n")
            .map((line) => line.split("\t").pop()?.trim() ?? "")
            .filter((name) => name !== ""),
        );
      }
      return filesystems;
    },
  };
}

export interface FixedHostFactsInit {
  directories?: string[];
  files?: string[];
  /** Namespace files by path, with their identity and (for /proc links) type. */
  namespaces?: Record<string, NamespaceFile>;
  hostNamespaces?: Partial<Record<LinuxNamespaceType, string>>;
  appArmor?: boolean;
  selinux?: boolean;
  capLastCap?: number;
  filesystems?: string[];
}

/** A host described by a literal, for unit tests of pure logic. */
export function fixedHostFacts(init: FixedHostFactsInit = {}): HostFacts {
  const dirs = new Set(init.directories ?? []);
  const files = new Set(init.files ?? []);
  const namespaces = init.namespaces ?? {};
  const fsTypes = new Set(
    init.filesystems ?? ["proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"],
  );
  return {
    pathKind: async (path) =>
      dirs.has(path) ? "directory" : files.has(path) || path in namespaces ? "file" : undefined,
    namespaceFile: async (path) =>
      namespaces[path] ?? (dirs.has(path) || files.has(path) ? "not-namespace" : "missing"),
    hostNamespaceId: async (type) => init.hostNamespaces?.[type],
    appArmorEnabled: async () => init.appArmor ?? false,
    selinuxEnabled: async () => init.selinux ?? false,
    capLastCap: async () => init.capLastCap ?? 40,
    filesystems: async () => fsTypes,
  };
}
