/**
 * Skiff's security defaults and the default spec `skiff-oci spec` writes.
 *
 * The defaults follow containerd's CRI defaults (DESIGN.md "Security defaults"):
 * fourteen capabilities, the masked and read-only /proc and /sys paths, the standard
 * mounts of a Linux container (config-linux.md "Default Filesystems"), the devices every
 * container gets (config-linux.md "Default Devices") with a device cgroup that denies
 * everything else, and the RuntimeDefault seccomp profile. Each value is a fresh copy,
 * so callers may change what they get.
 */

import { runtimeDefaultProfile } from "./seccomp-default.js";
import type { LinuxDevice, LinuxDeviceCgroup, Mount, Spec } from "./spec.js";
import { ociVersion } from "./spec.js";

/** containerd's default capability set, in its order. */
export const defaultCapabilities: readonly string[] = Object.freeze([
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
]);

/**
 * Paths hidden from the container (a read-only empty tmpfs over directories, /dev/null
 * over files): host information and hardware interfaces that are not namespaced.
 */
export const defaultMaskedPaths: readonly string[] = Object.freeze([
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  // RAPL energy counters: a power side channel (CVE-2020-8694, "Platypus").
  "/sys/devices/virtual/powercap",
]);

/** Paths bind-mounted read-only over themselves: host-wide kernel tunables. */
export const defaultReadonlyPaths: readonly string[] = Object.freeze([
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
]);

/** The mounts of a Linux container, in the order they must be made. */
export function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/**
 * The device nodes every container gets besides linux.devices. /dev/ptmx (a symlink to
 * pts/ptmx) and /dev/console (the terminal's pty, when process.terminal) are made by the
 * runtime and are not listed here.
 */
export function defaultDevices(): LinuxDevice[] {
  const node = (path: string, major: number, minor: number): LinuxDevice => ({
    path,
    type: "c",
    major,
    minor,
    fileMode: 0o666,
    uid: 0,
    gid: 0,
  });
  return [
    node("/dev/null", 1, 3),
    node("/dev/zero", 1, 5),
    node("/dev/full", 1, 7),
    node("/dev/random", 1, 8),
    node("/dev/urandom", 1, 9),
    node("/dev/tty", 5, 0),
  ];
}

/**
 * The device cgroup rules: deny all, then allow mknod of any node (opening it is still
 * denied) and read/write of the default devices, the terminals and /dev/pts.
 */
export function defaultDeviceCgroupRules(): LinuxDeviceCgroup[] {
  const allow = (
    type: "c" | "b",
    major: number | undefined,
    minor: number | undefined,
    access: string,
  ): LinuxDeviceCgroup => ({
    allow: true,
    type,
    ...(major === undefined ? {} : { major }),
    ...(minor === undefined ? {} : { minor }),
    access,
  });
  return [
    { allow: false, access: "rwm" },
    allow("c", undefined, undefined, "m"),
    allow("b", undefined, undefined, "m"),
    ...defaultDevices().map((d) => allow("c", d.major, d.minor, "rwm")),
    allow("c", 5, 1, "rwm"), // /dev/console
    allow("c", 5, 2, "rwm"), // /dev/ptmx
    allow("c", 136, undefined, "rwm"), // /dev/pts/*
  ];
}

export interface DefaultSpecOptions {
  /** The command; default ["sh"]. */
  args?: string[];
  /** Default true, as `runc spec`. */
  terminal?: boolean;
  /** process.arch of the target host, for the seccomp architectures. */
  arch?: string;
  /** Kernel release, for the seccomp profile. */
  kernelRelease?: string;
}

/** The config.json `skiff-oci spec` writes: a locked-down container running `sh`. */
export function defaultSpec(options: DefaultSpecOptions = {}): Spec {
  const caps = [...defaultCapabilities];
  return {
    ociVersion,
    process: {
      terminal: options.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: options.args ?? ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...caps],
        effective: [...caps],
        permitted: [...caps],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "skiff",
    mounts: defaultMounts(),
    linux: {
      resources: { devices: defaultDeviceCgroupRules() },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      seccomp: runtimeDefaultProfile(caps, {
        ...(options.arch === undefined ? {} : { arch: options.arch }),
        ...(options.kernelRelease === undefined ? {} : { kernelRelease: options.kernelRelease }),
      }),
      maskedPaths: [...defaultMaskedPaths],
      readonlyPaths: [...defaultReadonlyPaths],
    },
  };
}
