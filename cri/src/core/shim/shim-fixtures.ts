/**
 * Test support for the shim's root tests: a busybox-static rootfs in a temp dir, a
 * containerd-like default plan, throwaway cgroups, and cleanup. Not used by Skiff itself.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MS, capabilityMask, type ShimPlan } from "./plan.js";

export const defaultCapabilities = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

export const defaultMaskedPaths = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const defaultReadonlyPaths = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

const applets = [
  "sh",
  "cat",
  "ls",
  "echo",
  "sleep",
  "true",
  "false",
  "hostname",
  "id",
  "wc",
  "grep",
  "head",
  "touch",
  "mkdir",
  "printf",
  "dd",
  "readlink",
  "test",
  "[",
  "tty",
  "stat",
  "rm",
  "mv",
  "stty",
];

/** A temp dir holding rootfs/ (busybox and applet links) and state/. */
export function makeBundle(): { dir: string; rootfs: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "skiff-shim-"));
  execFileSync("chmod", ["0755", dir]); // reachable from a user namespace
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root"])
    mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  execFileSync("chmod", ["0755", join(rootfs, "bin", "busybox")]);
  for (const a of applets) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  return { dir, rootfs, stateDir };
}

const dev = (path: string, major: number, minor: number) => ({
  path,
  type: "c" as const,
  major,
  minor,
  fileMode: 0o666,
  uid: 0,
  gid: 0,
});

const mount = (
  source: string,
  destination: string,
  type: string,
  flags: number,
  data = "",
): ShimPlan["mounts"] extends (infer M)[] | undefined ? M : never => ({
  source,
  destination,
  type,
  flags,
  data,
  propagation: 0,
  recursiveAttrSet: 0,
  recursiveAttrClear: 0,
});

/** A plan with containerd's CRI defaults, all namespaces new except user and cgroup. */
export function defaultPlan(
  rootfs: string,
  stateDir: string,
  args: string[],
): ShimPlan & {
  stateDir: string;
  rootfs: string;
} {
  const caps = capabilityMask(defaultCapabilities);
  const nosuid = MS.NOSUID | MS.NOEXEC | MS.NODEV;
  return {
    stateDir,
    rootfs,
    rootfsPropagation: MS.PRIVATE | MS.REC,
    namespaces: [
      { type: "pid" },
      { type: "mount" },
      { type: "uts" },
      { type: "ipc" },
      { type: "network" },
    ],
    mounts: [
      mount("proc", "/proc", "proc", nosuid),
      mount("tmpfs", "/dev", "tmpfs", MS.NOSUID | MS.STRICTATIME, "mode=755,size=65536k"),
      mount(
        "devpts",
        "/dev/pts",
        "devpts",
        MS.NOSUID | MS.NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5",
      ),
      mount("shm", "/dev/shm", "tmpfs", nosuid, "mode=1777,size=65536k"),
      mount("mqueue", "/dev/mqueue", "mqueue", nosuid),
      mount("sysfs", "/sys", "sysfs", nosuid | MS.RDONLY),
    ],
    devices: [
      dev("/dev/null", 1, 3),
      dev("/dev/zero", 1, 5),
      dev("/dev/full", 1, 7),
      dev("/dev/random", 1, 8),
      dev("/dev/urandom", 1, 9),
      dev("/dev/tty", 5, 0),
    ],
    symlinks: [
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
      ["pts/ptmx", "/dev/ptmx"],
      ["/proc/kcore", "/dev/core"],
    ],
    maskedPaths: defaultMaskedPaths,
    readonlyPaths: defaultReadonlyPaths,
    hostname: "skiff-test",
    capabilities: {
      effective: caps,
      permitted: caps,
      inheritable: 0n,
      bounding: caps,
      ambient: 0n,
    },
    noNewPrivileges: true,
    env: ["PATH=/bin", "HOME=/root"],
    cwd: "/",
    args,
    logPath: join(stateDir, "..", "container.log"),
  };
}

/** A throwaway cgroup under each given v1 controller (or the unified v2 mount). */
export function makeCgroups(controllers: string[]): {
  dirs: string[];
  remove: () => Promise<void>;
} {
  const name = `skiff-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dirs = controllers.map((c) => join("/sys/fs/cgroup", c, name));
  for (const d of dirs) mkdirSync(d);
  return {
    dirs,
    remove: async () => {
      for (const d of dirs) {
        for (let i = 0; i < 50; i++) {
          try {
            await rmdir(d);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    },
  };
}

export function removeBundle(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
