/**
 * The sandbox's infra process: skiff-infra (cri/native/infra), Skiff's pause, run as an
 * OCI container through ContainerRuntime. It holds the pod's IPC, UTS and (unless the
 * pod uses the host's) pid namespaces, joins the pod's network namespace file, and is
 * pid 1 reaping orphans when the pid namespace is shared. Its rootfs is one read-only
 * directory made once under the root dir: the static binary and an empty /dev.
 *
 * The spec is minimal on purpose: one mount, a tiny tmpfs on /dev (the rootfs is shared
 * by every pod, and the shim makes the OCI default device nodes in /dev: in the shared
 * directory, concurrent pod starts raced on them), no capabilities, no_new_privs, uid/gid 65535, a devices cgroup that denies everything;
 * the shim applies the pod's sysctls and hostname while setting it up.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SystemError } from "../../core/errors.js";
import { ociVersion, type LinuxNamespace, type Spec } from "../../core/oci/spec.js";
import { nativeBinary } from "../../core/shim/launch.js";
import type { PodNamespaces } from "./sandbox-config.js";

/** $SKIFF_INFRA, else cri/native/build/skiff-infra. */
export const infraBinary = (): string => nativeBinary("skiff-infra", "SKIFF_INFRA");

/**
 * Makes (or refreshes, when the binary changed) `<dir>/rootfs` with /skiff-infra and an
 * empty /dev, atomically: a new tree is built beside it and renamed over it.
 */
export function prepareInfraBundle(dir: string): string {
  const rootfs = join(dir, "rootfs");
  const binary = infraBinary();
  const wanted = readFileSync(binary);
  try {
    const current = readFileSync(join(rootfs, "skiff-infra"));
    if (current.equals(wanted) && existsSync(join(rootfs, "dev"))) return dir;
  } catch {
    // missing: made below
  }
  const staging = join(dir, `rootfs.new-${process.pid}`);
  try {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, "dev"), { recursive: true, mode: 0o755 });
    copyFileSync(binary, join(staging, "skiff-infra"));
    const old = join(dir, `rootfs.old-${process.pid}`);
    if (existsSync(rootfs)) renameSync(rootfs, old);
    renameSync(staging, rootfs);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new SystemError("prepare infra rootfs", rootfs, err);
  }
  return dir;
}

export interface InfraSpecInput {
  hostname: string;
  namespaces: PodNamespaces;
  /** The pod netns file (absent for host-network pods). */
  netnsPath?: string;
  /** The infra container's cgroup (under the pod cgroup). */
  cgroupPath: string;
  sysctls: Record<string, string>;
  annotations: Record<string, string>;
}

export function infraSpec(input: InfraSpecInput): Spec {
  const { namespaces: ns } = input;
  const namespaces: LinuxNamespace[] = [{ type: "mount" }];
  if (!ns.hostIpc) namespaces.push({ type: "ipc" });
  if (!ns.hostNetwork) namespaces.push({ type: "uts" });
  if (!ns.hostPid) namespaces.push({ type: "pid" });
  if (!ns.hostNetwork && input.netnsPath) {
    namespaces.push({ type: "network", path: input.netnsPath });
  }
  const spec: Spec = {
    ociVersion,
    process: {
      terminal: false,
      user: { uid: 65535, gid: 65535 },
      args: ["/skiff-infra"],
      env: [],
      cwd: "/",
      capabilities: { bounding: [], effective: [], permitted: [] },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    mounts: [
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "noexec", "mode=755", "size=64k"],
      },
    ],
    annotations: input.annotations,
    linux: {
      namespaces,
      cgroupsPath: input.cgroupPath,
      resources: { devices: [{ allow: false, access: "rwm" }] },
      maskedPaths: [],
      readonlyPaths: [],
    },
  };
  if (!ns.hostNetwork) spec.hostname = input.hostname;
  if (Object.keys(input.sysctls).length > 0) spec.linux!.sysctl = { ...input.sysctls };
  return spec;
}
