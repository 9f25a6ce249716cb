/**
 * Validation of an OCI runtime spec before anything is created.
 *
 * Every check that needs no container is made here, so that a spec the kernel or Skiff
 * cannot honour is refused with an error naming the JSON field (`process.args: ...`,
 * `linux.seccomp.syscalls[3].names[1]: unknown syscall "foo"`) instead of failing half
 * way through setup. The problems are collected, not thrown one by one: the error
 * carries all of them, the first one's kind (InvalidArgument, or FailedPrecondition when
 * the host lacks something the spec asks for, such as AppArmor).
 *
 * Host facts (paths, namespace files, LSMs, cap_last_cap, filesystems) come through
 * HostFacts, so these rules are unit-tested without root.
 */

import { isAbsolute, resolve } from "node:path";

import { type ErrorKind, SkiffError } from "../errors.js";
import { capabilityNumber, capabilityProblem } from "./capabilities.js";
import { type HostFacts, realHostFacts } from "./host-facts.js";
import {
  type LinuxNamespaceType,
  type Spec,
  namespaceTypes,
  seccompActions,
  seccompArchitectures,
  seccompFlags,
  seccompOperators,
} from "./spec.js";
import { isKnownSyscall } from "./syscalls.js";

export interface SpecProblem {
  kind: ErrorKind;
  /** The JSON path of the field, e.g. "linux.namespaces[2].path". */
  field: string;
  message: string;
}

export const rlimitTypes = [
  "RLIMIT_AS",
  "RLIMIT_CORE",
  "RLIMIT_CPU",
  "RLIMIT_DATA",
  "RLIMIT_FSIZE",
  "RLIMIT_LOCKS",
  "RLIMIT_MEMLOCK",
  "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE",
  "RLIMIT_NOFILE",
  "RLIMIT_NPROC",
  "RLIMIT_RSS",
  "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME",
  "RLIMIT_SIGPENDING",
  "RLIMIT_STACK",
] as const;

const schedulerPolicies = [
  "SCHED_OTHER",
  "SCHED_FIFO",
  "SCHED_RR",
  "SCHED_BATCH",
  "SCHED_ISO",
  "SCHED_IDLE",
  "SCHED_DEADLINE",
];
const ioPriorityClasses = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];
const propagations = [
  "shared",
  "slave",
  "private",
  "unbindable",
  "rshared",
  "rslave",
  "rprivate",
  "runbindable",
];
const timeClocks = ["monotonic", "boottime"];
const hookKinds = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;

/** Sysctls of the IPC namespace (ipc_sysctl.c, mq_sysctl.c). */
const ipcSysctls = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
  "kernel.msg_next_id",
  "kernel.sem_next_id",
  "kernel.shm_next_id",
]);

const MAX_UINT32 = 0xffffffff;
const MAX_ERRNO = 4095;

type Json = unknown;
type Obj = Record<string, unknown>;

const isObj = (v: Json): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isUint = (v: Json, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
const isInt = (v: Json): v is number => typeof v === "number" && Number.isInteger(v);
const q = (s: unknown): string => JSON.stringify(s);

/** An absolute path without "." or ".." components. */
function cleanAbsolute(path: string): boolean {
  return isAbsolute(path) && !path.split("/").some((c) => c === ".." || c === ".");
}

class Problems {
  readonly list: SpecProblem[] = [];

  add(field: string, message: string, kind: ErrorKind = "InvalidArgument"): void {
    this.list.push({ kind, field, message });
  }

  /** Checks that `v` is a string when present; returns it, or undefined. */
  str(field: string, v: Json, required = false): string | undefined {
    if (v === undefined) {
      if (required) this.add(field, "is required");
      return undefined;
    }
    if (typeof v !== "string") {
      this.add(field, "must be a string");
      return undefined;
    }
    if (v.includes("\0")) {
      this.add(field, "must not contain NUL");
      return undefined;
    }
    return v;
  }

  obj(field: string, v: Json, required = false): Obj | undefined {
    if (v === undefined) {
      if (required) this.add(field, "is required");
      return undefined;
    }
    if (!isObj(v)) {
      this.add(field, "must be an object");
      return undefined;
    }
    return v;
  }

  arr(field: string, v: Json, required = false): unknown[] | undefined {
    if (v === undefined) {
      if (required) this.add(field, "is required");
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.add(field, "must be an array");
      return undefined;
    }
    return v;
  }

  strings(field: string, v: Json, required = false): string[] | undefined {
    const a = this.arr(field, v, required);
    if (!a) return undefined;
    const out: string[] = [];
    a.forEach((item, i) => {
      const s = this.str(`${field}[${i}]`, item, true);
      if (s !== undefined) out.push(s);
    });
    return out.length === a.length ? out : undefined;
  }

  uint(field: string, v: Json, max = Number.MAX_SAFE_INTEGER, required = false): void {
    if (v === undefined) {
      if (required) this.add(field, "is required");
      return;
    }
    if (!isUint(v, max)) {
      const range =
        max >= Number.MAX_SAFE_INTEGER ? "a non-negative integer" : `an integer from 0 to ${max}`;
      this.add(field, `must be ${range}`);
    }
  }

  bool(field: string, v: Json): void {
    if (v !== undefined && typeof v !== "boolean") this.add(field, "must be true or false");
  }

  absolute(field: string, v: Json, required = false): string | undefined {
    const s = this.str(field, v, required);
    if (s !== undefined && !cleanAbsolute(s)) {
      this.add(field, `${q(s)} must be an absolute path without "." or ".." components`);
      return undefined;
    }
    return s;
  }
}

/**
 * Every problem of a spec, in the order checked; empty when it can be run. `spec` is the
 * parsed config.json; `bundleDir` resolves a relative root.path.
 */
export async function specProblems(
  spec: unknown,
  bundleDir: string,
  facts: HostFacts = realHostFacts(),
): Promise<SpecProblem[]> {
  const p = new Problems();
  if (!isObj(spec)) {
    p.add("(config)", "must be a JSON object");
    return p.list;
  }
  const capLastCap = await facts.capLastCap();

  // ociVersion
  const version = p.str("ociVersion", spec.ociVersion, true);
  if (version !== undefined) {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(version);
    if (!m) p.add("ociVersion", `${q(version)} is not a SemVer version`);
    else if (m[1] !== "1") p.add("ociVersion", `version ${version} is not 1.x`);
  }

  // root
  const root = p.obj("root", spec.root, true);
  if (root) {
    const path = p.str("root.path", root.path, true);
    if (path !== undefined) {
      if (path === "") p.add("root.path", "must not be empty");
      else {
        const full = resolve(bundleDir, path);
        const kind = await facts.pathKind(full);
        if (kind === undefined) p.add("root.path", `${full} does not exist`);
        else if (kind !== "directory") p.add("root.path", `${full} is not a directory`);
      }
    }
    p.bool("root.readonly", root.readonly);
  }

  // hostname, domainname
  const hostname = p.str("hostname", spec.hostname);
  const domainname = p.str("domainname", spec.domainname);
  for (const [field, value] of [
    ["hostname", hostname],
    ["domainname", domainname],
  ] as const) {
    if (value !== undefined && Buffer.byteLength(value) > 64) {
      p.add(field, "must be at most 64 bytes");
    }
  }

  // linux (checked before process because process checks need the namespace list)
  const linux = p.obj("linux", spec.linux);
  const namespaces = new Map<LinuxNamespaceType, { path?: string; field: string }>();
  if (linux) {
    const nsList = p.arr("linux.namespaces", linux.namespaces);
    for (const [i, entry] of (nsList ?? []).entries()) {
      const field = `linux.namespaces[${i}]`;
      const ns = p.obj(field, entry, true);
      if (!ns) continue;
      const type = p.str(`${field}.type`, ns.type, true);
      if (type === undefined) continue;
      if (!(namespaceTypes as readonly string[]).includes(type)) {
        p.add(`${field}.type`, `unknown namespace type ${q(type)}`);
        continue;
      }
      const nsType = type as LinuxNamespaceType;
      if (namespaces.has(nsType)) {
        p.add(`${field}.type`, `namespace ${q(type)} is listed twice`);
        continue;
      }
      const path = p.absolute(`${field}.path`, ns.path);
      namespaces.set(nsType, { ...(path === undefined ? {} : { path }), field });
      if (path !== undefined) {
        const found = await facts.namespaceFile(path);
        if (found === "missing") p.add(`${field}.path`, `${path} does not exist`);
        else if (found === "not-namespace") p.add(`${field}.path`, `${path} is not a namespace`);
        else if (found === "inaccessible") p.add(`${field}.path`, `${path} cannot be inspected`);
        else if (found.type !== undefined && found.type !== nsType) {
          p.add(`${field}.path`, `${path} is a ${found.type} namespace, not ${nsType}`);
        }
      }
    }

    const userNs = namespaces.get("user");
    const checkMappings = (field: string, v: Json): boolean => {
      const list = p.arr(field, v);
      if (!list) return false;
      list.forEach((m, i) => {
        const f = `${field}[${i}]`;
        const o = p.obj(f, m, true);
        if (!o) return;
        p.uint(`${f}.containerID`, o.containerID, MAX_UINT32, true);
        p.uint(`${f}.hostID`, o.hostID, MAX_UINT32, true);
        p.uint(`${f}.size`, o.size, MAX_UINT32, true);
        if (o.size === 0) p.add(`${f}.size`, "must be at least 1");
      });
      return list.length > 0;
    };
    const hasUid = checkMappings("linux.uidMappings", linux.uidMappings);
    const hasGid = checkMappings("linux.gidMappings", linux.gidMappings);
    if (userNs && userNs.path === undefined) {
      if (!hasUid) p.add("linux.uidMappings", "a new user namespace needs uid mappings");
      if (!hasGid) p.add("linux.gidMappings", "a new user namespace needs gid mappings");
    } else {
      const why = userNs ? "a joined user namespace is already mapped" : "needs a user namespace";
      if (hasUid) p.add("linux.uidMappings", why);
      if (hasGid) p.add("linux.gidMappings", why);
    }

    const offsets = p.obj("linux.timeOffsets", linux.timeOffsets);
    if (offsets) {
      const timeNs = namespaces.get("time");
      if (!timeNs || timeNs.path !== undefined) {
        p.add("linux.timeOffsets", "needs a new time namespace in linux.namespaces");
      }
      for (const [clock, value] of Object.entries(offsets)) {
        const f = `linux.timeOffsets.${clock}`;
        if (!timeClocks.includes(clock)) p.add(f, `unknown clock ${q(clock)}`);
        const o = p.obj(f, value, true);
        if (!o) continue;
        if (o.secs !== undefined && !isInt(o.secs)) p.add(`${f}.secs`, "must be an integer");
        p.uint(`${f}.nanosecs`, o.nanosecs, 999_999_999);
      }
    }

    await checkDevices(p, linux.devices);
    checkCgroupsPath(p, linux.cgroupsPath);
    checkResources(p, linux.resources);

    const propagation = p.str("linux.rootfsPropagation", linux.rootfsPropagation);
    if (propagation !== undefined && !propagations.includes(propagation)) {
      p.add("linux.rootfsPropagation", `unknown propagation ${q(propagation)}`);
    }

    if (linux.seccomp !== undefined) checkSeccomp(p, linux.seccomp);
    await checkSysctls(p, linux.sysctl, namespaces, facts);

    for (const key of ["maskedPaths", "readonlyPaths"] as const) {
      const list = p.arr(`linux.${key}`, linux[key]);
      list?.forEach((v, i) => p.absolute(`linux.${key}[${i}]`, v, true));
    }

    const mountLabel = p.str("linux.mountLabel", linux.mountLabel);
    if (mountLabel) p.add("linux.mountLabel", await noSELinux(facts), "FailedPrecondition");

    const personality = p.obj("linux.personality", linux.personality);
    if (personality) {
      const domain = p.str("linux.personality.domain", personality.domain, true);
      if (domain !== undefined && domain !== "LINUX" && domain !== "LINUX32") {
        p.add("linux.personality.domain", `unknown domain ${q(domain)}`);
      }
      const flags = p.strings("linux.personality.flags", personality.flags);
      if (flags && flags.length > 0) p.add("linux.personality.flags", "no flags are supported");
    }

    if (linux.intelRdt !== undefined) {
      p.add("linux.intelRdt", "Intel RDT is not supported by Skiff", "FailedPrecondition");
    }
  }

  // hostname and domainname need a UTS namespace of the container's own
  const uts = namespaces.get("uts");
  for (const field of ["hostname", "domainname"] as const) {
    const value = field === "hostname" ? hostname : domainname;
    if (value === undefined || value === "") continue;
    if (!uts) p.add(field, "setting it needs a uts namespace in linux.namespaces");
    else if (uts.path !== undefined) p.add(field, "cannot be set in a joined uts namespace");
  }

  // process
  const proc = p.obj("process", spec.process, true);
  if (proc) await checkProcess(p, proc, capLastCap, facts);

  // mounts
  const mounts = p.arr("mounts", spec.mounts);
  if (mounts) await checkMounts(p, mounts, bundleDir, facts);

  // hooks
  const hooks = p.obj("hooks", spec.hooks);
  if (hooks) {
    for (const [kind, list] of Object.entries(hooks)) {
      if (!(hookKinds as readonly string[]).includes(kind)) {
        p.add(`hooks.${kind}`, `unknown hook kind ${q(kind)}`);
        continue;
      }
      const entries = p.arr(`hooks.${kind}`, list) ?? [];
      for (const [i, h] of entries.entries()) {
        const f = `hooks.${kind}[${i}]`;
        const hook = p.obj(f, h, true);
        if (!hook) continue;
        const path = p.absolute(`${f}.path`, hook.path, true);
        if (path !== undefined && (await facts.pathKind(path)) !== "file") {
          p.add(`${f}.path`, `${path} is not an existing file`);
        }
        p.strings(`${f}.args`, hook.args);
        checkEnv(p, `${f}.env`, hook.env);
        if (hook.timeout !== undefined && !(isUint(hook.timeout) && hook.timeout > 0)) {
          p.add(`${f}.timeout`, "must be a positive integer (seconds)");
        }
      }
    }
  }

  // annotations
  const annotations = p.obj("annotations", spec.annotations);
  if (annotations) {
    for (const [k, v] of Object.entries(annotations)) p.str(`annotations.${k}`, v, true);
  }

  return p.list;
}

/**
 * Refuses a spec that cannot be run, with a SkiffError naming every faulty field;
 * returns it typed when it can.
 */
export async function validateSpec(
  spec: unknown,
  bundleDir: string,
  facts: HostFacts = realHostFacts(),
): Promise<Spec> {
  const problems = await specProblems(spec, bundleDir, facts);
  const first = problems[0];
  if (first) {
    const message = problems.map((x) => `${x.field}: ${x.message}`).join("; ");
    throw new SkiffError(first.kind, message);
  }
  return spec as Spec;
}

/**
 * New cgroup limits for a running container or a pod cgroup, by the rules of
 * linux.resources in a spec: InvalidArgument naming each bad field, before anything is
 * written (the kernel's EINVAL would say neither which field nor why).
 */
export function validateResources(resources: object): void {
  const p = new Problems();
  checkResources(p, resources as Json);
  const first = p.list[0];
  if (first) {
    const message = p.list.map((x) => `${x.field}: ${x.message}`).join("; ");
    throw new SkiffError(first.kind, message);
  }
}

function checkEnv(p: Problems, field: string, v: Json): void {
  const env = p.strings(field, v);
  env?.forEach((entry, i) => {
    const eq = entry.indexOf("=");
    if (eq <= 0) p.add(`${field}[${i}]`, `${q(entry)} is not KEY=VALUE`);
  });
}

async function checkProcess(
  p: Problems,
  proc: Obj,
  capLastCap: number,
  facts: HostFacts,
): Promise<void> {
  p.bool("process.terminal", proc.terminal);
  const box = p.obj("process.consoleSize", proc.consoleSize);
  if (box) {
    p.uint("process.consoleSize.height", box.height, 0xffff, true);
    p.uint("process.consoleSize.width", box.width, 0xffff, true);
  }

  const user = p.obj("process.user", proc.user, true);
  if (user) {
    p.uint("process.user.uid", user.uid, MAX_UINT32, true);
    p.uint("process.user.gid", user.gid, MAX_UINT32, true);
    p.uint("process.user.umask", user.umask, 0o777);
    const gids = p.arr("process.user.additionalGids", user.additionalGids);
    gids?.forEach((g, i) => p.uint(`process.user.additionalGids[${i}]`, g, MAX_UINT32, true));
  }

  const args = p.strings("process.args", proc.args, true);
  if (args && args.length === 0) p.add("process.args", "must hold at least the program to run");
  if (args?.[0] === "") p.add("process.args[0]", "must not be empty");

  checkEnv(p, "process.env", proc.env);

  const cwd = p.str("process.cwd", proc.cwd, true);
  if (cwd !== undefined && !isAbsolute(cwd)) p.add("process.cwd", `${q(cwd)} is not absolute`);

  const caps = p.obj("process.capabilities", proc.capabilities);
  if (caps) {
    const sets = new Map<string, Set<string>>();
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) {
      const names = p.strings(`process.capabilities.${set}`, caps[set]) ?? [];
      names.forEach((name, i) => {
        const problem = capabilityProblem(name, capLastCap);
        if (problem) p.add(`process.capabilities.${set}[${i}]`, problem);
      });
      sets.set(set, new Set(names));
    }
    for (const key of Object.keys(caps)) {
      if (!sets.has(key)) p.add(`process.capabilities.${key}`, "unknown capability set");
    }
    const permitted = sets.get("permitted") ?? new Set();
    const inheritable = sets.get("inheritable") ?? new Set();
    [...(sets.get("ambient") ?? [])].forEach((name, i) => {
      if (capabilityNumber(name) === undefined) return;
      if (!permitted.has(name) || !inheritable.has(name)) {
        p.add(
          `process.capabilities.ambient[${i}]`,
          `${name} must also be in the permitted and inheritable sets`,
        );
      }
    });
    [...(sets.get("effective") ?? [])].forEach((name, i) => {
      if (capabilityNumber(name) !== undefined && !permitted.has(name)) {
        p.add(`process.capabilities.effective[${i}]`, `${name} must also be in the permitted set`);
      }
    });
  }

  const rlimits = p.arr("process.rlimits", proc.rlimits);
  const seen = new Set<string>();
  for (const [i, r] of (rlimits ?? []).entries()) {
    const f = `process.rlimits[${i}]`;
    const o = p.obj(f, r, true);
    if (!o) continue;
    const type = p.str(`${f}.type`, o.type, true);
    if (type !== undefined) {
      if (!(rlimitTypes as readonly string[]).includes(type)) {
        p.add(`${f}.type`, `unknown rlimit ${q(type)}`);
      } else if (seen.has(type)) p.add(`${f}.type`, `${type} is listed twice`);
      seen.add(type);
    }
    p.uint(`${f}.soft`, o.soft, 2 ** 64, true);
    p.uint(`${f}.hard`, o.hard, 2 ** 64, true);
    if (isUint(o.soft) && isUint(o.hard) && o.soft > o.hard) {
      p.add(`${f}.soft`, `soft limit ${o.soft} is above the hard limit ${o.hard}`);
    }
  }

  p.bool("process.noNewPrivileges", proc.noNewPrivileges);

  if (proc.oomScoreAdj !== undefined) {
    if (!isInt(proc.oomScoreAdj) || proc.oomScoreAdj < -1000 || proc.oomScoreAdj > 1000) {
      p.add("process.oomScoreAdj", "must be an integer from -1000 to 1000");
    }
  }

  const apparmor = p.str("process.apparmorProfile", proc.apparmorProfile);
  if (apparmor && apparmor !== "unconfined") {
    // fails closed on either kernel: skiff-shim cannot apply a profile (DESIGN.md)
    const why = (await facts.appArmorEnabled())
      ? "Skiff cannot apply AppArmor profiles yet"
      : "this kernel has no AppArmor";
    p.add(
      "process.apparmorProfile",
      `AppArmor profile ${q(apparmor)} requested but ${why}; refusing to run unconfined`,
      "FailedPrecondition",
    );
  }
  const selinux = p.str("process.selinuxLabel", proc.selinuxLabel);
  if (selinux) {
    p.add(
      "process.selinuxLabel",
      `SELinux label ${q(selinux)} requested: ${await noSELinux(facts)}`,
      "FailedPrecondition",
    );
  }

  const sched = p.obj("process.scheduler", proc.scheduler);
  if (sched) {
    const policy = p.str("process.scheduler.policy", sched.policy, true);
    if (policy !== undefined && !schedulerPolicies.includes(policy)) {
      p.add("process.scheduler.policy", `unknown policy ${q(policy)}`);
    }
    if (sched.nice !== undefined && !(isInt(sched.nice) && sched.nice >= -20 && sched.nice <= 19)) {
      p.add("process.scheduler.nice", "must be an integer from -20 to 19");
    }
  }
  const ioPrio = p.obj("process.ioPriority", proc.ioPriority);
  if (ioPrio) {
    const cls = p.str("process.ioPriority.class", ioPrio.class, true);
    if (cls !== undefined && !ioPriorityClasses.includes(cls)) {
      p.add("process.ioPriority.class", `unknown class ${q(cls)}`);
    }
    p.uint("process.ioPriority.priority", ioPrio.priority, 7, true);
  }
}

async function checkMounts(
  p: Problems,
  mounts: unknown[],
  bundleDir: string,
  facts: HostFacts,
): Promise<void> {
  const filesystems = await facts.filesystems();
  for (const [i, m] of mounts.entries()) {
    const f = `mounts[${i}]`;
    const mount = p.obj(f, m, true);
    if (!mount) continue;
    p.absolute(`${f}.destination`, mount.destination, true);
    const type = p.str(`${f}.type`, mount.type);
    const source = p.str(`${f}.source`, mount.source);
    const options = p.strings(`${f}.options`, mount.options) ?? [];
    const bind = type === "bind" || options.includes("bind") || options.includes("rbind");
    if (!bind) {
      if (type === undefined || type === "" || type === "none") {
        p.add(`${f}.type`, "is required unless the options hold bind or rbind");
      } else if (!filesystems.has(type)) {
        p.add(`${f}.type`, `unknown filesystem type ${q(type)}`);
      }
    } else if (source === undefined || source === "") {
      p.add(`${f}.source`, "a bind mount needs a source");
    } else if ((await facts.pathKind(resolve(bundleDir, source))) === undefined) {
      p.add(`${f}.source`, `${resolve(bundleDir, source)} does not exist`);
    }
    const hasUid = mount.uidMappings !== undefined;
    const hasGid = mount.gidMappings !== undefined;
    if (hasUid !== hasGid) {
      p.add(`${f}.${hasUid ? "gidMappings" : "uidMappings"}`, "an idmapped mount needs both maps");
    } else if (hasUid && !bind) {
      p.add(`${f}.uidMappings`, "only bind mounts can be idmapped");
    }
  }
}

async function checkDevices(p: Problems, v: Json): Promise<void> {
  const devices = p.arr("linux.devices", v);
  const paths = new Set<string>();
  for (const [i, d] of (devices ?? []).entries()) {
    const f = `linux.devices[${i}]`;
    const dev = p.obj(f, d, true);
    if (!dev) continue;
    const path = p.absolute(`${f}.path`, dev.path, true);
    if (path !== undefined) {
      if (paths.has(path)) p.add(`${f}.path`, `${path} is listed twice`);
      paths.add(path);
    }
    const type = p.str(`${f}.type`, dev.type, true);
    if (type !== undefined && !["c", "b", "u", "p"].includes(type)) {
      p.add(`${f}.type`, `unknown device type ${q(type)} (c, b, u or p)`);
    }
    const needsNumbers = type !== "p";
    p.uint(`${f}.major`, dev.major, MAX_UINT32, needsNumbers);
    p.uint(`${f}.minor`, dev.minor, MAX_UINT32, needsNumbers);
    p.uint(`${f}.fileMode`, dev.fileMode, 0o7777);
    p.uint(`${f}.uid`, dev.uid, MAX_UINT32);
    p.uint(`${f}.gid`, dev.gid, MAX_UINT32);
  }
}

function checkCgroupsPath(p: Problems, v: Json): void {
  const path = p.str("linux.cgroupsPath", v);
  if (path === undefined) return;
  if (path.split("/").some((c) => c === ".." || c === ".")) {
    p.add("linux.cgroupsPath", `${q(path)} must not hold "." or ".." components`);
  } else if (path.includes(":")) {
    p.add("linux.cgroupsPath", `${q(path)}: systemd slice paths are not supported (no systemd)`);
  } else if (/[\n\r]/.test(path)) {
    p.add("linux.cgroupsPath", "must not hold line breaks");
  }
}

function checkResources(p: Problems, v: Json): void {
  const res = p.obj("linux.resources", v);
  if (!res) return;
  const rules = p.arr("linux.resources.devices", res.devices);
  rules?.forEach((r, i) => {
    const f = `linux.resources.devices[${i}]`;
    const rule = p.obj(f, r, true);
    if (!rule) return;
    if (typeof rule.allow !== "boolean") p.add(`${f}.allow`, "is required: true or false");
    const type = p.str(`${f}.type`, rule.type);
    if (type !== undefined && !["a", "c", "b"].includes(type)) {
      p.add(`${f}.type`, `unknown device type ${q(type)} (a, c or b)`);
    }
    if (rule.major !== undefined && !(isUint(rule.major) || rule.major === -1)) {
      p.add(`${f}.major`, "must be a device number or -1 (any)");
    }
    if (rule.minor !== undefined && !(isUint(rule.minor) || rule.minor === -1)) {
      p.add(`${f}.minor`, "must be a device number or -1 (any)");
    }
    const access = p.str(`${f}.access`, rule.access);
    if (access !== undefined && !/^[rwm]*$/.test(access)) {
      p.add(`${f}.access`, `${q(access)} must be made of r, w and m`);
    }
  });

  const mem = p.obj("linux.resources.memory", res.memory);
  if (mem) {
    for (const key of ["limit", "reservation", "swap", "kernel", "kernelTCP"]) {
      const x = mem[key];
      if (x !== undefined && !(isInt(x) && x >= -1)) {
        p.add(`linux.resources.memory.${key}`, "must be a number of bytes or -1");
      }
    }
    if (isUint(mem.limit) && isUint(mem.swap) && mem.limit > 0 && mem.swap < mem.limit) {
      p.add("linux.resources.memory.swap", "memory+swap must not be below the memory limit");
    }
    p.uint("linux.resources.memory.swappiness", mem.swappiness, 100);
  }
  const cpu = p.obj("linux.resources.cpu", res.cpu);
  if (cpu) {
    p.uint("linux.resources.cpu.shares", cpu.shares);
    p.uint("linux.resources.cpu.period", cpu.period);
    p.uint("linux.resources.cpu.burst", cpu.burst);
    if (cpu.quota !== undefined && !(isInt(cpu.quota) && cpu.quota >= -1)) {
      p.add("linux.resources.cpu.quota", "must be microseconds or -1");
    }
    for (const key of ["cpus", "mems"]) {
      const list = p.str(`linux.resources.cpu.${key}`, cpu[key]);
      if (list !== undefined && list !== "" && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) {
        p.add(`linux.resources.cpu.${key}`, `${q(list)} is not a list like "0-3,5"`);
      }
    }
  }
  const pids = p.obj("linux.resources.pids", res.pids);
  if (pids && !(isInt(pids.limit) && (pids.limit > 0 || pids.limit === -1 || pids.limit === 0))) {
    p.add("linux.resources.pids.limit", "must be a positive integer, or 0 or -1 for no limit");
  }
  const hugepages = p.arr("linux.resources.hugepageLimits", res.hugepageLimits);
  hugepages?.forEach((h, i) => {
    const f = `linux.resources.hugepageLimits[${i}]`;
    const o = p.obj(f, h, true);
    if (!o) return;
    const size = p.str(`${f}.pageSize`, o.pageSize, true);
    if (size !== undefined && !/^\d+[KMG]B$/.test(size)) {
      p.add(`${f}.pageSize`, `${q(size)} is not a size like "2MB"`);
    }
    p.uint(`${f}.limit`, o.limit, Number.MAX_SAFE_INTEGER, true);
  });
  const unified = p.obj("linux.resources.unified", res.unified);
  if (unified) {
    for (const [key, value] of Object.entries(unified)) {
      const f = `linux.resources.unified.${key}`;
      if (key.includes("/") || key.startsWith(".") || key === "") {
        p.add(f, "must name a file of the cgroup, not a path");
      }
      p.str(f, value, true);
    }
  }
}

function checkSeccomp(p: Problems, v: Json): void {
  const sc = p.obj("linux.seccomp", v);
  if (!sc) return;
  const actionOk = (field: string, a: Json, required: boolean): string | undefined => {
    const action = p.str(field, a, required);
    if (action !== undefined && !(seccompActions as readonly string[]).includes(action)) {
      p.add(field, `unknown seccomp action ${q(action)}`);
      return undefined;
    }
    return action;
  };
  const errnoOk = (field: string, action: string | undefined, errno: Json): void => {
    if (errno === undefined) return;
    p.uint(field, errno, MAX_ERRNO);
    if (action !== undefined && action !== "SCMP_ACT_ERRNO" && action !== "SCMP_ACT_TRACE") {
      p.add(field, `${action} takes no errno`);
    }
  };

  const defaultAction = actionOk("linux.seccomp.defaultAction", sc.defaultAction, true);
  if (defaultAction === "SCMP_ACT_NOTIFY") {
    p.add("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  }
  errnoOk("linux.seccomp.defaultErrnoRet", defaultAction, sc.defaultErrnoRet);

  const archs = p.strings("linux.seccomp.architectures", sc.architectures);
  archs?.forEach((a, i) => {
    if (!(seccompArchitectures as readonly string[]).includes(a)) {
      p.add(`linux.seccomp.architectures[${i}]`, `unknown architecture ${q(a)}`);
    }
  });
  const flags = p.strings("linux.seccomp.flags", sc.flags);
  flags?.forEach((fl, i) => {
    if (!(seccompFlags as readonly string[]).includes(fl)) {
      p.add(`linux.seccomp.flags[${i}]`, `unknown seccomp flag ${q(fl)}`);
    }
  });
  const listenerPath = p.str("linux.seccomp.listenerPath", sc.listenerPath);
  const metadata = p.str("linux.seccomp.listenerMetadata", sc.listenerMetadata);
  if (metadata !== undefined && !listenerPath) {
    p.add("linux.seccomp.listenerMetadata", "needs linux.seccomp.listenerPath");
  }

  const syscalls = p.arr("linux.seccomp.syscalls", sc.syscalls) ?? [];
  for (const [i, s] of syscalls.entries()) {
    const f = `linux.seccomp.syscalls[${i}]`;
    const rule = p.obj(f, s, true);
    if (!rule) continue;
    const names = p.strings(`${f}.names`, rule.names, true);
    if (names && names.length === 0) p.add(`${f}.names`, "must name at least one syscall");
    names?.forEach((name, j) => {
      if (!isKnownSyscall(name)) p.add(`${f}.names[${j}]`, `unknown syscall ${q(name)}`);
    });
    const action = actionOk(`${f}.action`, rule.action, true);
    if (action === "SCMP_ACT_NOTIFY" && !listenerPath) {
      p.add(`${f}.action`, "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
    }
    errnoOk(`${f}.errnoRet`, action, rule.errnoRet);
    const args = p.arr(`${f}.args`, rule.args) ?? [];
    for (const [k, a] of args.entries()) {
      const af = `${f}.args[${k}]`;
      const arg = p.obj(af, a, true);
      if (!arg) continue;
      p.uint(`${af}.index`, arg.index, 5, true);
      p.uint(`${af}.value`, arg.value, 2 ** 64, true);
      p.uint(`${af}.valueTwo`, arg.valueTwo, 2 ** 64);
      const op = p.str(`${af}.op`, arg.op, true);
      if (op !== undefined && !(seccompOperators as readonly string[]).includes(op)) {
        p.add(`${af}.op`, `unknown comparison ${q(op)}`);
      }
    }
  }
}

async function checkSysctls(
  p: Problems,
  v: Json,
  namespaces: Map<LinuxNamespaceType, { path?: string; field: string }>,
  facts: HostFacts,
): Promise<void> {
  const sysctl = p.obj("linux.sysctl", v);
  if (!sysctl) return;

  /** Which namespace a sysctl belongs to, or why it cannot be set. */
  const owner = (name: string): LinuxNamespaceType | string => {
    if (name === "kernel.hostname") return "is set through the hostname field";
    if (name === "kernel.domainname") return "is set through the domainname field";
    if (ipcSysctls.has(name) || name.startsWith("fs.mqueue.")) return "ipc";
    if (name.startsWith("net.")) return "network";
    if (name.startsWith("user.")) return "user";
    return "is not namespaced: it would change the host";
  };

  for (const [name, value] of Object.entries(sysctl)) {
    const f = `linux.sysctl.${name}`;
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name)) {
      p.add(f, `${q(name)} is not a sysctl name (dotted words; no "/" or "..")`);
      continue;
    }
    const text = p.str(f, value, true);
    if (text !== undefined) {
      if (text === "") p.add(f, "the value must not be empty");
      else if (/[+=\n\r]/.test(text)) {
        p.add(f, `value ${q(text)} must not contain "+", "=" or line breaks`);
      } else if (text.length > 4096) p.add(f, "the value is longer than a page");
    }
    const ns = owner(name);
    if (!(namespaceTypes as readonly string[]).includes(ns)) {
      p.add(f, ns);
      continue;
    }
    const nsType = ns as LinuxNamespaceType;
    const entry = namespaces.get(nsType);
    if (!entry) {
      p.add(f, `needs a ${nsType} namespace in linux.namespaces`);
      continue;
    }
    if (entry.path !== undefined) {
      const found = await facts.namespaceFile(entry.path);
      const hostId = await facts.hostNamespaceId(nsType);
      if (typeof found === "object" && hostId !== undefined && found.id === hostId) {
        p.add(f, `${entry.field}.path joins the host's ${nsType} namespace`);
      }
    }
  }
}

/** Why an SELinux label is refused: fails closed, as AppArmor does (DESIGN.md). */
async function noSELinux(facts: HostFacts): Promise<string> {
  return (await facts.selinuxEnabled())
    ? "Skiff cannot apply SELinux labels yet; refusing to run unlabelled"
    : "SELinux is not enabled on this host";
}
