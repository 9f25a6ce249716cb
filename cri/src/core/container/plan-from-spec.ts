/**
 * OCI runtime spec → skiff-shim plan. The spec has been validated (oci/validate.ts);
 * here every OCI notion becomes its kernel form: mount options become MS_* flags, data,
 * propagation and recursive MOUNT_ATTR_* sets; capability names become masks; rlimit
 * names numbers; seccomp rules one per syscall; the cgroup manager's directories the
 * places the shim puts the process before execve. runc's implicit parts are explicit
 * here: the default devices, the /dev symlinks, /dev/ptmx, and an OCI "cgroup" mount
 * expanded into the host's hierarchies (v1 controllers under a tmpfs, or one cgroup2).
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { invalidArgument } from "../errors.js";
import type { CgroupManager } from "../cgroups/cgroup-manager.js";
import type { Hierarchies } from "../cgroups/hierarchy.js";
import { defaultDevices } from "../oci/defaults.js";
import type { LinuxDevice, LinuxIDMapping, LinuxSeccomp, Mount, Spec } from "../oci/spec.js";
import {
  MOUNT_ATTR,
  MS,
  capabilityMask,
  rlimitNumbers,
  type IdMapping,
  type NamespaceType,
  type ShimDevice,
  type ShimMount,
  type ShimPlan,
  type ShimSeccomp,
} from "../shim/plan.js";

export interface PlanContext {
  bundle: string;
  stateDir: string;
  /** The container's cgroup, created before the plan is carried out. */
  cgroup?: CgroupManager;
  hierarchies?: Hierarchies;
  /** CRI log file the monitor writes; without one the output goes to attach clients only. */
  logPath?: string;
  /** Keep a stdin pipe open for attach clients. */
  stdin?: boolean;
}

const namespaceTypes: Record<string, NamespaceType> = {
  pid: "pid",
  network: "network",
  mount: "mount",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
};

const flagOptions: Record<string, [set: number, clear: number]> = {
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
  remount: [MS.REMOUNT, 0],
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
  defaults: [0, 0],
};

const propagationOptions: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

const recursiveOptions: Record<string, [set: number, clear: number]> = {
  rro: [MOUNT_ATTR.RDONLY, 0],
  rrw: [0, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0],
  rsuid: [0, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0],
  rdev: [0, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0],
  rexec: [0, MOUNT_ATTR.NOEXEC],
  rnoatime: [MOUNT_ATTR.NOATIME, 0],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0],
  rdiratime: [0, MOUNT_ATTR.NODIRATIME],
};

/** Options only runc-style runtimes interpret; Skiff has nothing to do for them. */
const ignoredOptions = new Set(["tmpcopyup", "nosymfollow"]);

export function mountToShim(mount: Mount, field: string): ShimMount {
  let flags = 0;
  let propagation = 0;
  let recursiveAttrSet = 0;
  let recursiveAttrClear = 0;
  const data: string[] = [];
  for (const option of mount.options ?? []) {
    const flag = flagOptions[option];
    const recursive = recursiveOptions[option];
    if (flag) {
      flags = (flags | flag[0]) & ~flag[1];
    } else if (option in propagationOptions) {
      propagation = propagationOptions[option] as number;
    } else if (recursive) {
      recursiveAttrSet = (recursiveAttrSet | recursive[0]) & ~recursive[1];
      recursiveAttrClear = (recursiveAttrClear | recursive[1]) & ~recursive[0];
    } else if (option === "idmap" || option === "ridmap") {
      throw invalidArgument(`${field}.options: id-mapped mounts are not supported by Skiff yet`);
    } else if (!ignoredOptions.has(option)) {
      data.push(option);
    }
  }
  const type = mount.type ?? "";
  if (type === "bind") flags |= MS.BIND;
  return {
    source: mount.source ?? type ?? "none",
    destination: mount.destination,
    type: flags & MS.BIND ? "" : type,
    flags,
    data: data.join(","),
    propagation,
    recursiveAttrSet,
    recursiveAttrClear,
  };
}

/** linux.rootfsPropagation: the OCI names, and the r-prefixed ones runc also takes. */
const rootfsPropagations: Record<string, number> = {
  shared: MS.SHARED | MS.REC,
  slave: MS.SLAVE | MS.REC,
  private: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE | MS.REC,
  rshared: MS.SHARED | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  rprivate: MS.PRIVATE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

function rootfsPropagation(value: string | undefined): number {
  if (value === undefined || value === "") return MS.SLAVE | MS.REC;
  const flags = rootfsPropagations[value];
  if (flags === undefined)
    throw invalidArgument(
      `linux.rootfsPropagation: "${value}" is not one of shared, slave, private, unbindable`,
    );
  return flags;
}

/**
 * An OCI "cgroup" mount: on a pure v2 host one cgroup2; on v1 or hybrid hosts a tmpfs
 * with each v1 hierarchy mounted by name under it (and the cgroup2 at unified/), which
 * a cgroup namespace roots at the container's own cgroup.
 */
function cgroupMounts(
  mount: Mount,
  field: string,
  hierarchies: Hierarchies | undefined,
): ShimMount[] {
  const base = mountToShim({ ...mount, type: "cgroup2", source: "cgroup" }, field);
  const readOnly = base.flags & MS.RDONLY;
  const common = MS.NOSUID | MS.NODEV | MS.NOEXEC | readOnly;
  if (
    !hierarchies ||
    hierarchies.controllers.size === 0 ||
    [...hierarchies.controllers.values()].every((c) => c.version === 2)
  ) {
    return [{ ...base, type: "cgroup2", flags: common | MS.RELATIME, data: "" }];
  }
  const mounts: ShimMount[] = [
    {
      source: "tmpfs",
      destination: mount.destination,
      type: "tmpfs",
      flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
      data: "mode=755",
      propagation: 0,
      recursiveAttrSet: 0,
      recursiveAttrClear: 0,
    },
  ];
  const byMountpoint = new Map<string, string[]>();
  for (const c of hierarchies.controllers.values()) {
    if (c.version !== 1) continue;
    const list = byMountpoint.get(c.mountpoint) ?? [];
    list.push(c.controller);
    byMountpoint.set(c.mountpoint, list);
  }
  for (const [mountpoint, controllers] of [...byMountpoint].sort()) {
    mounts.push({
      source: "cgroup",
      destination: join(mount.destination, mountpoint.split("/").pop() as string),
      type: "cgroup",
      flags: common | MS.RELATIME,
      data: controllers.sort().join(","),
      propagation: 0,
      recursiveAttrSet: 0,
      recursiveAttrClear: 0,
    });
  }
  if (hierarchies.unified) {
    mounts.push({
      source: "cgroup2",
      destination: join(mount.destination, "unified"),
      type: "cgroup2",
      flags: common | MS.RELATIME,
      data: "",
      propagation: 0,
      recursiveAttrSet: 0,
      recursiveAttrClear: 0,
    });
  }
  if (readOnly) {
    // the tmpfs goes read-only last, after its sub-mounts exist
    mounts.push({
      ...(mounts[0] as ShimMount),
      flags: (mounts[0] as ShimMount).flags | MS.REMOUNT | MS.RDONLY,
      data: "mode=755",
    });
  }
  return mounts;
}

function deviceToShim(d: LinuxDevice): ShimDevice {
  if (d.type !== "c" && d.type !== "b") {
    throw invalidArgument(
      `linux.devices ${d.path}: type ${d.type} cannot be created by Skiff (only c and b)`,
    );
  }
  return {
    path: d.path,
    type: d.type,
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    fileMode: d.fileMode ?? 0o666,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  };
}

export function seccompToShim(s: LinuxSeccomp): ShimSeccomp {
  const rules: ShimSeccomp["rules"] = [];
  for (const syscall of s.syscalls ?? []) {
    const args = (syscall.args ?? []).map((a) => ({
      index: a.index,
      op: a.op,
      value: BigInt(a.value),
      valueTwo: BigInt(a.valueTwo ?? 0),
    }));
    // Conditions on distinct arguments are ANDed in one rule; several conditions on the
    // same argument cannot all hold, so (as runc reads them) each becomes its own rule.
    const repeated = new Set(args.map((a) => a.index)).size < args.length;
    const argSets = repeated ? args.map((a) => [a]) : [args];
    for (const name of syscall.names) {
      for (const set of argSets) {
        rules.push({
          action: syscall.action,
          errnoRet: syscall.errnoRet ?? 1,
          syscall: name,
          args: set,
        });
      }
    }
  }
  return {
    defaultAction: s.defaultAction,
    defaultErrnoRet: s.defaultErrnoRet ?? 1,
    architectures: (s.architectures ?? []).map((a) => a.replace(/^SCMP_ARCH_/, "").toLowerCase()),
    flags: s.flags ?? [],
    rules,
  };
}

const idMapping = (m: LinuxIDMapping): IdMapping => ({
  containerId: m.containerID,
  hostId: m.hostID,
  size: m.size,
});

/** The /dev entries every container gets, as runc makes them. */
const devSymlinks: [string, string][] = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
];

export function planFromSpec(spec: Spec, ctx: PlanContext): ShimPlan {
  const process = spec.process;
  if (!process) throw invalidArgument("process: required to create a container");
  const linux = spec.linux ?? {};
  const root = spec.root;
  if (!root) throw invalidArgument("root: required to create a container");

  const mounts: ShimMount[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const field = `mounts[${i}]`;
    if (m.type === "cgroup" || m.type === "cgroup2")
      mounts.push(...cgroupMounts(m, field, ctx.hierarchies));
    else mounts.push(mountToShim(m, field));
  });
  for (const m of mounts) {
    if (m.flags & MS.BIND && !isAbsolute(m.source)) m.source = resolve(ctx.bundle, m.source);
  }

  const devices = new Map<string, ShimDevice>();
  for (const d of defaultDevices()) devices.set(d.path, deviceToShim(d));
  for (const d of linux.devices ?? []) devices.set(d.path, deviceToShim(d));
  const symlinks = [...devSymlinks];
  if (mounts.some((m) => m.destination === "/dev/pts")) symlinks.push(["pts/ptmx", "/dev/ptmx"]);

  const caps = process.capabilities ?? {};
  const plan: ShimPlan = {
    stateDir: ctx.stateDir,
    rootfs: resolve(ctx.bundle, root.path),
    rootfsPropagation: rootfsPropagation(linux.rootfsPropagation),
    readonlyRootfs: root.readonly === true,
    namespaces: (linux.namespaces ?? []).map((ns) => {
      const type = namespaceTypes[ns.type];
      if (!type)
        throw invalidArgument(`linux.namespaces: ${ns.type} namespaces are not supported by Skiff`);
      return ns.path ? { type, path: ns.path } : { type };
    }),
    uidMappings: (linux.uidMappings ?? []).map(idMapping),
    gidMappings: (linux.gidMappings ?? []).map(idMapping),
    mounts,
    devices: [...devices.values()],
    symlinks,
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    sysctls: Object.entries(linux.sysctl ?? {}),
    rlimits: (process.rlimits ?? []).map((r) => ({
      resource: rlimitNumbers[r.type] as number,
      soft: BigInt(r.soft),
      hard: BigInt(r.hard),
    })),
    capabilities: {
      effective: capabilityMask(caps.effective ?? []),
      permitted: capabilityMask(caps.permitted ?? []),
      inheritable: capabilityMask(caps.inheritable ?? []),
      bounding: capabilityMask(caps.bounding ?? []),
      ambient: capabilityMask(caps.ambient ?? []),
    },
    noNewPrivileges: process.noNewPrivileges === true,
    user: {
      uid: process.user.uid,
      gid: process.user.gid,
      additionalGids: process.user.additionalGids ?? [],
    },
    env: process.env ?? [],
    cwd: process.cwd,
    args: process.args ?? [],
    terminal: process.terminal === true,
    stdin: ctx.stdin === true,
  };
  if (spec.hostname !== undefined) plan.hostname = spec.hostname;
  if (spec.domainname !== undefined) plan.domainname = spec.domainname;
  if (process.oomScoreAdj !== undefined) plan.oomScoreAdj = process.oomScoreAdj;
  if (linux.seccomp) plan.seccomp = seccompToShim(linux.seccomp);
  if (ctx.logPath) plan.logPath = ctx.logPath;
  if (ctx.cgroup) {
    const unified = ctx.cgroup.unifiedDir();
    const v1 = ctx.cgroup
      .procsPaths()
      .map((p) => dirname(p))
      .filter((d) => d !== unified);
    if (unified) plan.cgroupV2 = unified;
    plan.cgroupV1 = v1;
    const memory = ctx.hierarchies?.controllers.get("memory");
    if (memory) {
      plan.oomEventsPath =
        memory.version === 1
          ? join(memory.mountpoint, ctx.cgroup.path, "memory.oom_control")
          : join(memory.mountpoint, ctx.cgroup.path, "memory.events");
    }
  }
  return plan;
}
