/**
 * CRI CreateContainer → OCI runtime spec. Pure: every host fact it needs (the image's
 * users, host devices, capabilities of this kernel, whether AppArmor exists, a
 * Localhost seccomp profile's text) comes in through `ContainerSpecInput`, so each rule
 * is unit-tested. The order of precedence is kubelet's: CRI config over image config.
 *
 * Security: the 14 default capabilities, default masked/read-only paths and the
 * RuntimeDefault seccomp profile unless the config says otherwise; privileged lifts
 * them (all capabilities, no seccomp, no masking, /sys and cgroups writable, host
 * devices); AppArmor profiles are refused on a kernel without AppArmor (DESIGN.md);
 * an image volume never mounts an empty host path (CVE-2022-23648).
 */
import { isAbsolute, posix } from "node:path";
import { invalidArgument, failedPrecondition } from "../../core/errors.js";
import { allCapabilities } from "../../core/oci/capabilities.js";
import {
  defaultCapabilities,
  defaultDeviceCgroupRules,
  defaultMaskedPaths,
  defaultReadonlyPaths,
} from "../../core/oci/defaults.js";
import { runtimeDefaultProfile } from "../../core/oci/seccomp-default.js";
import type {
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxNamespace,
  LinuxResources,
  LinuxSeccomp,
  Mount,
  Spec,
} from "../../core/oci/spec.js";
import { ociVersion } from "../../core/oci/spec.js";
import { resolveUser, type ImageUsers } from "../../core/rootfs/users.js";
import type { ContainerConfig__Output } from "../../generated/runtime/v1/ContainerConfig.js";
import type { LinuxContainerResources__Output } from "../../generated/runtime/v1/LinuxContainerResources.js";
import type { SecurityProfile__Output } from "../../generated/runtime/v1/SecurityProfile.js";
import type { SELinuxOption__Output } from "../../generated/runtime/v1/SELinuxOption.js";

/** The parts of an image config (OCI image-spec config.config) a container uses. */
export interface ImageRunConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  Volumes?: Record<string, object>;
}

/** What the pod sandbox gives its containers. */
export interface SandboxContext {
  id: string;
  /** Namespace files of the pod to join: net, ipc, uts, pid (when shared). */
  netnsPath?: string;
  ipcnsPath?: string;
  utsnsPath?: string;
  pidnsPath?: string;
  hostNetwork: boolean;
  hostIpc: boolean;
  hostPid: boolean;
  /** Files the pod shares with its containers (bind-mounted unless the config mounts them). */
  hostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
  shmPath?: string;
  cgroupParent: string;
  /** Sysctls of the pod, applied to each container (they share the namespaces). */
  sysctls: Record<string, string>;
}

export interface HostDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface ContainerSpecInput {
  id: string;
  config: ContainerConfig__Output;
  image: ImageRunConfig;
  /** The container's mounted root filesystem. */
  rootfs: string;
  users: ImageUsers;
  sandbox: SandboxContext;
  /** Mounts whose source is an image (config.mounts index → the directory to bind). */
  imageVolumeSources?: Map<number, string>;
  /** Where the image config's Volumes get their (empty, per-container) directories. */
  volumeDir(containerPath: string): string;
  hostDevice(path: string): HostDevice | undefined;
  /** Every device of the host, for privileged containers. */
  allHostDevices(): HostDevice[];
  appArmorEnabled: boolean;
  /** SELinux options are ignored without SELinux (as containerd does), refused with it. */
  selinuxEnabled: boolean;
  capLastCap: number;
  /**
   * Capabilities in skiff-cri's own bounding set (undefined: all up to capLastCap).
   * Privileged and ALL grant only these: the kernel refuses to raise the others.
   */
  boundingSet?: string[];
  /** Reads a Localhost seccomp profile (absolute path) as JSON text. */
  readSeccompProfile(path: string): string;
}

const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function buildContainerSpec(input: ContainerSpecInput): Spec {
  const { config, image, sandbox } = input;
  const security = config.linux?.security_context ?? null;
  const privileged = security?.privileged === true;

  const args = commandLine(config, image);
  const env = mergeEnv(
    image.Env ?? [],
    config.envs.map((kv) => `${kv.key}=${kv.value.toString("utf8")}`),
  );
  if (config.tty && !env.some((e) => e.startsWith("TERM="))) env.push("TERM=xterm");
  const user = containerUser(input);
  const capabilities = containerCapabilities(input, privileged);

  const devices = privileged
    ? input.allHostDevices().map((d) => toLinuxDevice(d))
    : containerDevices(input);
  const spec: Spec = {
    ociVersion,
    process: {
      terminal: config.tty,
      user,
      args,
      env,
      cwd: config.working_dir || image.WorkingDir || "/",
      capabilities,
      noNewPrivileges: security?.no_new_privs === true,
      rlimits: [],
    },
    root: { path: input.rootfs, readonly: security?.readonly_rootfs === true },
    hostname: undefined,
    mounts: containerMounts(input, privileged),
    annotations: {
      ...config.annotations,
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.sandbox-id": sandbox.id,
      "io.kubernetes.cri.container-name": config.metadata?.name ?? "",
    },
    linux: {
      namespaces: containerNamespaces(sandbox, config),
      cgroupsPath: posix.join(sandbox.cgroupParent || "/skiff", input.id),
      resources: {
        ...containerResources(config.linux?.resources ?? null),
        devices: privileged
          ? [{ allow: true, access: "rwm" }]
          : [...defaultDeviceCgroupRules(), ...deviceRules(input)],
      },
      devices,
      sysctl: { ...sandbox.sysctls },
      maskedPaths: privileged ? [] : maskedPaths(security?.masked_paths),
      readonlyPaths: privileged ? [] : readonlyPaths(security?.readonly_paths),
      // rshared when a volume is bidirectional, so its mounts stay peers of the host's.
      rootfsPropagation: config.mounts.some((m) => m.propagation === "PROPAGATION_BIDIRECTIONAL")
        ? "shared"
        : "slave",
    },
  };
  delete spec.hostname;
  const oomScoreAdj = config.linux?.resources?.oom_score_adj;
  if (oomScoreAdj !== undefined && oomScoreAdj !== "" && oomScoreAdj !== "0") {
    spec.process!.oomScoreAdj = Number(oomScoreAdj);
  }
  const seccomp = containerSeccomp(input, privileged, capabilities.bounding ?? []);
  if (seccomp) spec.linux!.seccomp = seccomp;
  checkAppArmor(
    security?.apparmor ?? null,
    security?.apparmor_profile ?? "",
    input.appArmorEnabled,
  );
  checkSELinux(security?.selinux_options ?? null, input.selinuxEnabled);
  return spec;
}

/** Docker's rule: CRI command replaces the entrypoint (and drops the image's cmd). */
function commandLine(config: ContainerConfig__Output, image: ImageRunConfig): string[] {
  let entrypoint = image.Entrypoint ?? [];
  let cmd = image.Cmd ?? [];
  if (config.command.length > 0) {
    entrypoint = config.command;
    cmd = [];
  }
  if (config.args.length > 0) cmd = config.args;
  const args = [...entrypoint, ...cmd];
  if (args.length === 0)
    throw invalidArgument("config.command: no command given and the image has none");
  return args;
}

/** Image env first, config env overriding by key; PATH defaulted. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const byKey = new Map<string, string>();
  for (const entry of [...base, ...overrides]) {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    byKey.delete(key);
    byKey.set(key, entry);
  }
  if (!byKey.has("PATH")) return [pathEnv, ...byKey.values()];
  return [...byKey.values()];
}

function containerUser(input: ContainerSpecInput): {
  uid: number;
  gid: number;
  additionalGids: number[];
} {
  const security = input.config.linux?.security_context ?? null;
  const runAsUser = security?.run_as_user ? Number(security.run_as_user.value) : undefined;
  const runAsGroup = security?.run_as_group ? Number(security.run_as_group.value) : undefined;
  let spec: string;
  let field: string;
  if (runAsUser !== undefined) {
    spec = String(runAsUser);
    field = "linux.security_context.run_as_user";
  } else if (security?.run_as_username) {
    spec = security.run_as_username;
    field = "linux.security_context.run_as_username";
  } else {
    // As containerd: a group alone is refused rather than paired with the image's user.
    if (runAsGroup !== undefined)
      throw invalidArgument(
        "linux.security_context.run_as_group: needs run_as_user or run_as_username",
      );
    spec = input.image.User || "0";
    field = "image config User";
  }
  if (runAsGroup !== undefined) spec = `${spec.split(":")[0]}:${runAsGroup}`;
  const resolved = resolveUser(spec, input.users, field);
  const policyStrict = security?.supplemental_groups_policy === "Strict";
  const supplemental = (security?.supplemental_groups ?? []).map(Number);
  const groups = new Set<number>([
    ...(policyStrict ? [] : resolved.additionalGids),
    ...supplemental,
  ]);
  groups.delete(resolved.gid);
  return {
    uid: resolved.uid,
    gid: resolved.gid,
    additionalGids: [...groups].sort((a, b) => a - b),
  };
}

const capName = (c: string): string => {
  const upper = c.toUpperCase();
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
};

function containerCapabilities(input: ContainerSpecInput, privileged: boolean) {
  const known = allCapabilities.slice(0, input.capLastCap + 1) as string[];
  const bounding = input.boundingSet;
  const available = bounding ? known.filter((c) => bounding.includes(c)) : known;
  const requested = input.config.linux?.security_context?.capabilities ?? null;
  let set: string[];
  if (privileged) {
    set = [...available];
  } else {
    const add = (requested?.add_capabilities ?? []).map(capName);
    const drop = (requested?.drop_capabilities ?? []).map(capName);
    set = add.includes("CAP_ALL") ? [...available] : [...defaultCapabilities];
    for (const c of add) if (c !== "CAP_ALL" && !set.includes(c)) set.push(c);
    set = drop.includes("CAP_ALL")
      ? set.filter((c) => add.includes(c))
      : set.filter((c) => !drop.includes(c));
    for (const c of [...add, ...drop]) {
      if (c !== "CAP_ALL" && !known.includes(c)) {
        throw invalidArgument(`linux.security_context.capabilities: unknown capability ${c}`);
      }
    }
  }
  const ambient = (requested?.add_ambient_capabilities ?? [])
    .map(capName)
    .filter((c) => set.includes(c));
  // A non-root user keeps no effective capabilities unless they are ambient (kubelet's semantics).
  return {
    bounding: set,
    effective: set,
    permitted: set,
    inheritable: ambient,
    ambient,
  };
}

function containerNamespaces(
  sandbox: SandboxContext,
  config: ContainerConfig__Output,
): LinuxNamespace[] {
  const options = config.linux?.security_context?.namespace_options ?? null;
  const namespaces: LinuxNamespace[] = [{ type: "mount" }];
  if (!sandbox.hostNetwork) namespaces.push(join("network", sandbox.netnsPath));
  if (!sandbox.hostIpc) namespaces.push(join("ipc", sandbox.ipcnsPath));
  if (!sandbox.hostNetwork) namespaces.push(join("uts", sandbox.utsnsPath));
  switch (options?.pid ?? "CONTAINER") {
    case "NODE":
      break;
    case "POD":
      namespaces.push(join("pid", sandbox.pidnsPath));
      break;
    case "TARGET":
      if (!options?.target_id)
        throw invalidArgument("namespace_options.target_id: required for pid TARGET");
      namespaces.push({ type: "pid", path: `/proc/target/${options.target_id}` });
      break;
    default:
      namespaces.push({ type: "pid" });
  }
  return namespaces;
}

function join(type: LinuxNamespace["type"], path: string | undefined): LinuxNamespace {
  return path ? { type, path } : { type };
}

function containerMounts(input: ContainerSpecInput, privileged: boolean): Mount[] {
  const { config, sandbox } = input;
  const requested = new Set(config.mounts.map((m) => posix.normalize(m.container_path)));
  const mounts: Mount[] = [
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
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"],
    },
  ];
  const shared = (destination: string, source: string | undefined, readonly: boolean) => {
    if (!source || requested.has(destination)) return;
    mounts.push({
      destination,
      type: "bind",
      source,
      options: ["rbind", "rprivate", readonly ? "ro" : "rw"],
    });
  };
  const readonlyRoot = config.linux?.security_context?.readonly_rootfs === true;
  shared("/etc/hosts", sandbox.hostsPath, readonlyRoot);
  shared("/etc/resolv.conf", sandbox.resolvConfPath, readonlyRoot);
  shared("/etc/hostname", sandbox.hostnamePath, readonlyRoot);
  if (sandbox.shmPath && !sandbox.hostIpc) shared("/dev/shm", sandbox.shmPath, false);
  else if (!requested.has("/dev/shm")) {
    mounts.push({
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    });
  }
  // Image volumes: an empty, private directory per container, never the host's root.
  for (const volume of Object.keys(input.image.Volumes ?? {}).sort()) {
    const destination = posix.normalize(volume);
    if (!destination.startsWith("/") || destination === "/" || requested.has(destination)) continue;
    const source = input.volumeDir(destination);
    if (!source || source === "/")
      throw invalidArgument(`image volume ${volume}: no directory for it`);
    mounts.push({ destination, type: "bind", source, options: ["rbind", "rprivate", "rw"] });
  }
  config.mounts.forEach((m, i) => {
    const field = `config.mounts[${i}]`;
    if (!isAbsolute(m.container_path))
      throw invalidArgument(`${field}.container_path: "${m.container_path}" must be absolute`);
    if (m.image?.image) {
      // Read-only, whatever the mount says: the image's layers are shared.
      const source = input.imageVolumeSources?.get(i);
      if (!source) throw invalidArgument(`${field}.image: ${m.image.image} is not mounted`);
      mounts.push({
        destination: m.container_path,
        type: "bind",
        source,
        options: ["rbind", "rprivate", "ro", "nosuid", "nodev"],
      });
      return;
    }
    if (!m.host_path) throw invalidArgument(`${field}.host_path: must not be empty`);
    if (!isAbsolute(m.host_path))
      throw invalidArgument(`${field}.host_path: "${m.host_path}" must be absolute`);
    const options = ["rbind", propagationOption(m.propagation), m.readonly ? "ro" : "rw"];
    if (m.recursive_read_only) {
      if (!m.readonly) throw invalidArgument(`${field}.recursive_read_only: needs readonly`);
      if (m.propagation !== "PROPAGATION_PRIVATE") {
        throw invalidArgument(`${field}.recursive_read_only: needs private propagation`);
      }
      options.push("rro");
    }
    mounts.push({ destination: m.container_path, type: "bind", source: m.host_path, options });
  });
  return mounts;
}

function propagationOption(p: string): string {
  switch (p) {
    case "PROPAGATION_HOST_TO_CONTAINER":
      return "rslave";
    case "PROPAGATION_BIDIRECTIONAL":
      return "rshared";
    default:
      return "rprivate";
  }
}

function toLinuxDevice(d: HostDevice, path = d.path): LinuxDevice {
  return {
    path,
    type: d.type,
    major: d.major,
    minor: d.minor,
    fileMode: d.fileMode,
    uid: d.uid,
    gid: d.gid,
  };
}

function containerDevices(input: ContainerSpecInput): LinuxDevice[] {
  return input.config.devices.map((d, i) => {
    const host = input.hostDevice(d.host_path);
    if (!host)
      throw invalidArgument(
        `config.devices[${i}].host_path: ${d.host_path} is not a device on this host`,
      );
    return toLinuxDevice(host, d.container_path || d.host_path);
  });
}

function deviceRules(input: ContainerSpecInput): LinuxDeviceCgroup[] {
  return input.config.devices.map((d) => {
    const host = input.hostDevice(d.host_path) as HostDevice;
    const access = d.permissions || "rwm";
    if (!/^[rwm]+$/.test(access))
      throw invalidArgument(`config.devices: permissions "${access}" must be made of r, w, m`);
    return { allow: true, type: host.type, major: host.major, minor: host.minor, access };
  });
}

function maskedPaths(requested: string[] | undefined): string[] {
  return requested && requested.length > 0 ? requested : [...defaultMaskedPaths];
}

function readonlyPaths(requested: string[] | undefined): string[] {
  return requested && requested.length > 0 ? requested : [...defaultReadonlyPaths];
}

export function containerResources(r: LinuxContainerResources__Output | null): LinuxResources {
  if (!r) return {};
  const num = (v: string | undefined): number | undefined =>
    v && v !== "0" ? Number(v) : undefined;
  const resources: LinuxResources = {};
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  if (num(r.cpu_shares) !== undefined) cpu.shares = num(r.cpu_shares) as number;
  if (num(r.cpu_quota) !== undefined) cpu.quota = num(r.cpu_quota) as number;
  if (num(r.cpu_period) !== undefined) cpu.period = num(r.cpu_period) as number;
  if (r.cpuset_cpus) cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems) cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  const limit = num(r.memory_limit_in_bytes);
  if (limit !== undefined) {
    resources.memory = { limit };
    const swap = num(r.memory_swap_limit_in_bytes);
    if (swap !== undefined) resources.memory.swap = swap;
  }
  if (r.hugepage_limits.length > 0) {
    resources.hugepageLimits = r.hugepage_limits.map((h) => ({
      pageSize: h.page_size,
      limit: Number(h.limit),
    }));
  }
  if (Object.keys(r.unified).length > 0) resources.unified = { ...r.unified };
  return resources;
}

function containerSeccomp(
  input: ContainerSpecInput,
  privileged: boolean,
  caps: string[],
): LinuxSeccomp | undefined {
  const security = input.config.linux?.security_context ?? null;
  const profile = seccompChoice(security?.seccomp ?? null, security?.seccomp_profile_path ?? "");
  // As containerd and CRI-O: a privileged container runs without any seccomp filter.
  if (profile.kind === "unconfined" || privileged) return undefined;
  if (profile.kind === "default") return runtimeDefaultProfile(caps);
  if (!isAbsolute(profile.path)) {
    throw invalidArgument(
      `linux.security_context.seccomp.localhost_ref: "${profile.path}" must be an absolute path`,
    );
  }
  let parsed: LinuxSeccomp;
  try {
    parsed = JSON.parse(input.readSeccompProfile(profile.path)) as LinuxSeccomp;
  } catch (err) {
    throw invalidArgument(
      `linux.security_context.seccomp: cannot use ${profile.path}: ${(err as Error).message}`,
    );
  }
  return parsed;
}

type SeccompChoice =
  { kind: "unconfined" } | { kind: "default" } | { kind: "localhost"; path: string };

function seccompChoice(profile: SecurityProfile__Output | null, legacy: string): SeccompChoice {
  if (profile && profile.profile_type) {
    switch (profile.profile_type) {
      case "RuntimeDefault":
        return { kind: "default" };
      case "Localhost":
        return { kind: "localhost", path: profile.localhost_ref };
      default:
        return { kind: "unconfined" };
    }
  }
  if (legacy === "runtime/default" || legacy === "docker/default") return { kind: "default" };
  if (legacy.startsWith("localhost/"))
    return { kind: "localhost", path: legacy.slice("localhost/".length) };
  // kubelet sends Unconfined (the enum's zero value) when the pod asks for nothing
  return { kind: "unconfined" };
}

function checkSELinux(options: SELinuxOption__Output | null, enabled: boolean): void {
  if (!enabled || !options) return;
  const label = [options.user, options.role, options.type, options.level];
  if (label.every((part) => part === "")) return;
  // fails closed, as AppArmor does: skiff-shim has no code to apply a label yet
  throw failedPrecondition(
    `linux.security_context.selinux_options: label ${label.join(":")} requested, and Skiff cannot apply SELinux labels yet; refusing to run the container unlabelled`,
  );
}

function checkAppArmor(
  profile: SecurityProfile__Output | null,
  legacy: string,
  enabled: boolean,
): void {
  const wanted =
    profile && profile.profile_type !== "Unconfined"
      ? profile.profile_type === "Localhost"
        ? `localhost/${profile.localhost_ref}`
        : "runtime/default"
      : legacy && legacy !== "unconfined"
        ? legacy
        : undefined;
  if (wanted === undefined) return;
  // Fails closed on either kernel: skiff-shim has no code to apply a profile yet, and a
  // profile asked for must not silently mean none.
  throw failedPrecondition(
    enabled
      ? `linux.security_context.apparmor: profile ${wanted} requested, and Skiff cannot apply AppArmor profiles yet; refusing to run the container unconfined`
      : `linux.security_context.apparmor: profile ${wanted} requested but this kernel has no AppArmor; refusing to run the container unconfined`,
  );
}
