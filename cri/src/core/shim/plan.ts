/**
 * The plan skiff-shim carries out: a fully resolved description of one container (or
 * one exec) decided here in TS, encoded for the C side as NUL-terminated records read
 * from fd 3. The record table is documented once, in cri/native/main.c; `encodePlan`
 * is its only writer. Invariants: every string is free of NUL bytes, every number is
 * an integer in range, and records keep the order of the arrays they come from (mounts
 * are mounted in order; seccomp_arg records follow their seccomp_rule).
 */
import { createHash } from "node:crypto";

import { invalidArgument } from "../errors.js";

export type NamespaceType = "pid" | "mount" | "uts" | "ipc" | "network" | "user" | "cgroup";

/** A namespace to create (no path) or to join (path, e.g. /proc/<pid>/ns/net). */
export interface ShimNamespace {
  type: NamespaceType;
  path?: string;
}

export interface IdMapping {
  containerId: number;
  hostId: number;
  size: number;
}

/**
 * One mount, in kernel terms. flags are MS_* (MS_BIND, MS_REC, MS_RDONLY, ...);
 * the MS_RDONLY/NOSUID/NODEV/NOEXEC/atime flags of a bind apply to its top mount;
 * propagation (MS_PRIVATE|MS_REC, ...) and the recursive MOUNT_ATTR_* sets are applied
 * after mounting (rro = recursiveAttrSet MOUNT_ATTR_RDONLY).
 */
export interface ShimMount {
  source: string;
  destination: string;
  type: string;
  flags: number;
  data: string;
  propagation: number;
  recursiveAttrSet: number;
  recursiveAttrClear: number;
}

export interface ShimDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface ShimRlimit {
  /** RLIMIT_* number (see rlimitNumbers) */
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** Capability sets as bit masks (bit n = capability number n). */
export interface ShimCapabilities {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  bounding: bigint;
  ambient: bigint;
}

export interface ShimSeccompArg {
  index: number;
  /** SCMP_CMP_NE, SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ, ... */
  op: string;
  value: bigint;
  valueTwo: bigint;
}

export interface ShimSeccompRule {
  /** SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, ... */
  action: string;
  errnoRet: number;
  syscall: string;
  /** ANDed together */
  args: ShimSeccompArg[];
}

export interface ShimSeccomp {
  defaultAction: string;
  defaultErrnoRet: number;
  /** libseccomp names: x86_64, x86, x32, aarch64, ... */
  architectures: string[];
  /** SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW */
  flags: string[];
  rules: ShimSeccompRule[];
}

export interface ShimUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface ShimPlan {
  /** create: the container's state dir (pid, ctl, attach, exit); must exist */
  stateDir?: string;
  /** create: the root filesystem to pivot into */
  rootfs?: string;
  /** MS_* propagation applied to / before mounting (default MS_SLAVE|MS_REC) */
  rootfsPropagation?: number;
  readonlyRootfs?: boolean;
  namespaces: ShimNamespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  mounts?: ShimMount[];
  devices?: ShimDevice[];
  /** [target, path inside the container] */
  symlinks?: [string, string][];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  hostname?: string;
  domainname?: string;
  /** [key, value]: only namespaced keys; the shim refuses values that embed a setting */
  sysctls?: [string, string][];
  rlimits?: ShimRlimit[];
  oomScoreAdj?: number;
  capabilities?: ShimCapabilities;
  noNewPrivileges?: boolean;
  seccomp?: ShimSeccomp;
  user?: ShimUser;
  env: string[];
  cwd: string;
  args: string[];
  terminal?: boolean;
  /** create without terminal: give the container a stdin pipe (attach frames feed it) */
  stdin?: boolean;
  /** cgroup2 directory (clone3 CLONE_INTO_CGROUP) */
  cgroupV2?: string;
  /** cgroup v1 directories, one per hierarchy (pid written to cgroup.procs) */
  cgroupV1?: string[];
  /** CRI log file */
  logPath?: string;
  /** longest log record before a P split (default 16384) */
  logMaxLine?: number;
  /** memory.events (v2) or memory.oom_control (v1): its oom_kill count decides oom_killed */
  oomEventsPath?: string;
  /** exec with terminal: fifo for "w ROWS COLS\n" resize commands */
  ctlFifo?: string;
  /**
   * With terminal: an absolute unix socket path the pty master is sent to (SCM_RIGHTS,
   * as runc's --console-socket); the shim then neither keeps nor relays the terminal.
   */
  consoleSocket?: string;
  /**
   * The compiled-filter cache file for plan.seccomp, in a root-only directory, named by
   * seccompCacheName(plan.seccomp): read when present, written by the shim otherwise.
   */
  seccompCacheFile?: string;
}

/* Kernel constants the plans are written with. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  REC: 16384,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  NOATIME: 0x10,
  NODIRATIME: 0x80,
} as const;

export const capabilityNames = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** Capability names (CAP_CHOWN, ...) to a bit mask; unknown names are an InvalidArgument. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = capabilityNames.indexOf(name as (typeof capabilityNames)[number]);
    if (bit < 0) throw invalidArgument(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export const rlimitNumbers: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

class Records {
  private readonly parts: Buffer[] = [];

  add(key: string, ...fields: (string | number | bigint)[]): void {
    for (const value of [key, ...fields]) {
      const text = typeof value === "string" ? value : encodeNumber(key, value);
      if (text.includes("\0")) throw invalidArgument(`plan ${key}: value contains a NUL byte`);
      this.parts.push(Buffer.from(text + "\0", "utf8"));
    }
  }

  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function encodeNumber(key: string, value: number | bigint): string {
  if (typeof value === "bigint") {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn)
      throw invalidArgument(`plan ${key}: ${value} out of range`);
    return value.toString();
  }
  if (!Number.isSafeInteger(value))
    throw invalidArgument(`plan ${key}: ${value} is not an integer`);
  return String(value);
}

const hex = (v: bigint): string => "0x" + v.toString(16);

/** Encodes a plan as the NUL-separated records skiff-shim reads (see cri/native/main.c). */
export function encodePlan(plan: ShimPlan): Buffer {
  const r = new Records();
  r.add("version", "1");
  if (plan.stateDir !== undefined) r.add("state_dir", plan.stateDir);
  if (plan.rootfs !== undefined) r.add("rootfs", plan.rootfs);
  if (plan.rootfsPropagation !== undefined) r.add("rootfs_propagation", plan.rootfsPropagation);
  if (plan.readonlyRootfs) r.add("readonly_rootfs");
  for (const ns of plan.namespaces) r.add("ns", ns.type, ns.path ?? "");
  for (const m of plan.uidMappings ?? []) r.add("uid_map", m.containerId, m.hostId, m.size);
  for (const m of plan.gidMappings ?? []) r.add("gid_map", m.containerId, m.hostId, m.size);
  for (const m of plan.mounts ?? []) {
    r.add(
      "mount",
      m.source,
      m.destination,
      m.type,
      m.flags,
      m.data,
      m.propagation,
      m.recursiveAttrSet,
      m.recursiveAttrClear,
    );
  }
  for (const d of plan.devices ?? [])
    r.add("device", d.path, d.type, d.major, d.minor, d.fileMode, d.uid, d.gid);
  for (const [target, path] of plan.symlinks ?? []) r.add("symlink", target, path);
  for (const p of plan.maskedPaths ?? []) r.add("masked", p);
  for (const p of plan.readonlyPaths ?? []) r.add("readonly", p);
  if (plan.hostname !== undefined) r.add("hostname", plan.hostname);
  if (plan.domainname !== undefined) r.add("domainname", plan.domainname);
  for (const [key, value] of plan.sysctls ?? []) r.add("sysctl", key, value);
  for (const l of plan.rlimits ?? []) r.add("rlimit", l.resource, l.soft, l.hard);
  if (plan.oomScoreAdj !== undefined) r.add("oom_score_adj", plan.oomScoreAdj);
  const c = plan.capabilities;
  if (c) {
    const sets = [c.effective, c.permitted, c.inheritable, c.bounding, c.ambient];
    r.add("caps", ...sets.map(hex));
  }
  if (plan.noNewPrivileges) r.add("no_new_privs");
  const s = plan.seccomp;
  if (s) {
    r.add("seccomp", s.defaultAction, s.defaultErrnoRet);
    for (const a of s.architectures) r.add("seccomp_arch", a);
    for (const f of s.flags) r.add("seccomp_flag", f);
    for (const rule of s.rules) {
      r.add("seccomp_rule", rule.action, rule.errnoRet, rule.syscall);
      for (const a of rule.args) r.add("seccomp_arg", a.index, a.op, a.value, a.valueTwo);
    }
  }
  if (plan.user) {
    r.add("user", plan.user.uid, plan.user.gid);
    for (const g of plan.user.additionalGids) r.add("group", g);
  }
  for (const e of plan.env) r.add("env", e);
  for (const a of plan.args) r.add("arg", a);
  r.add("cwd", plan.cwd);
  if (plan.terminal) r.add("terminal");
  if (plan.stdin) r.add("stdin");
  if (plan.cgroupV2 !== undefined) r.add("cgroup2", plan.cgroupV2);
  for (const dir of plan.cgroupV1 ?? []) r.add("cgroup1", dir);
  if (plan.logPath !== undefined) r.add("log_path", plan.logPath);
  if (plan.logMaxLine !== undefined) r.add("log_max_line", plan.logMaxLine);
  if (plan.oomEventsPath !== undefined) r.add("oom_events", plan.oomEventsPath);
  if (plan.ctlFifo !== undefined) r.add("ctl_fifo", plan.ctlFifo);
  if (plan.consoleSocket !== undefined) r.add("console_socket", plan.consoleSocket);
  if (plan.seccompCacheFile !== undefined) r.add("seccomp_cache", plan.seccompCacheFile);
  return r.buffer();
}

/** A cache file name for a seccomp profile: the sha256 of its encoded records. */
export function seccompCacheName(seccomp: ShimSeccomp): string {
  const records = encodePlan({ namespaces: [], env: [], cwd: "/", args: [], seccomp });
  return `${createHash("sha256").update(records).digest("hex")}.bpf`;
}

/** Namespaces of a running process to join, e.g. for an exec. */
export function joinNamespacesOf(pid: number, types: readonly NamespaceType[]): ShimNamespace[] {
  const file: Record<NamespaceType, string> = {
    pid: "pid",
    mount: "mnt",
    uts: "uts",
    ipc: "ipc",
    network: "net",
    user: "user",
    cgroup: "cgroup",
  };
  return types.map((type) => ({ type, path: `/proc/${pid}/ns/${file[type]}` }));
}

const optionFlags: Record<string, [set: number, clear: number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  noatime: [MS.NOATIME, 0],
  atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0],
  diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
  remount: [MS.REMOUNT, 0],
};

const propagationFlags: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

const recursiveAttrs: Record<string, [set: number, clear: number]> = {
  rro: [MOUNT_ATTR.RDONLY, 0],
  rrw: [0, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0],
  rsuid: [0, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0],
  rdev: [0, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0],
  rexec: [0, MOUNT_ATTR.NOEXEC],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0],
  rdiratime: [0, MOUNT_ATTR.NODIRATIME],
};

/** Options the shim cannot honour: refused rather than silently dropped. */
const unsupportedOptions = new Set(["idmap", "ridmap", "tmpcopyup", "copy-symlink"]);

/**
 * An OCI mount (type, source, destination, options) as a ShimMount: flag options to
 * MS_*, propagation options to the propagation field, r* options to recursive
 * MOUNT_ATTR_* sets, everything else to the data string. A bind type means MS_BIND.
 */
export function shimMount(m: {
  destination: string;
  source?: string;
  type?: string;
  options?: readonly string[];
}): ShimMount {
  let flags = 0;
  let propagation = 0;
  let recursiveAttrSet = 0;
  let recursiveAttrClear = 0;
  const data: string[] = [];
  for (const option of m.options ?? []) {
    const f = optionFlags[option];
    const p = propagationFlags[option];
    const r = recursiveAttrs[option];
    if (unsupportedOptions.has(option))
      throw invalidArgument(`mount ${m.destination}: option ${option} is not supported`);
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (p !== undefined) propagation = p;
    else if (r) {
      recursiveAttrSet = (recursiveAttrSet | r[0]) & ~r[1];
      recursiveAttrClear = (recursiveAttrClear | r[1]) & ~r[0];
    } else data.push(option);
  }
  if (m.type === "bind") flags |= MS.BIND;
  return {
    source: m.source ?? "",
    destination: m.destination,
    type: m.type ?? "",
    flags,
    data: data.join(","),
    propagation,
    recursiveAttrSet,
    recursiveAttrClear,
  };
}
