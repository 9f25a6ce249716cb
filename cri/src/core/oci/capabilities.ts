/**
 * Linux capabilities by name and number (capabilities(7), include/uapi/linux/capability.h).
 *
 * OCI specs name capabilities with the CAP_ prefix ("CAP_CHOWN"); that is the only form
 * accepted in a spec. A kernel knows capabilities 0..cap_last_cap
 * (/proc/sys/kernel/cap_last_cap); names above it are known to Skiff but cannot be
 * granted on that kernel.
 */

/** Index = capability number. */
export const allCapabilities = [
  "CAP_CHOWN", // 0
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL", // 5
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE", // 10
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER", // 15
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", // 20
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", // 25
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL", // 30
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM", // 35
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE", // 40
] as const;

export type Capability = (typeof allCapabilities)[number];

/** The number of a capability named with its CAP_ prefix, or undefined. */
export function capabilityNumber(name: string): number | undefined {
  const n = (allCapabilities as readonly string[]).indexOf(name);
  return n < 0 ? undefined : n;
}

export function isCapability(name: string): name is Capability {
  return capabilityNumber(name) !== undefined;
}

/** The capabilities a kernel with this cap_last_cap knows, in number order. */
export function kernelCapabilities(capLastCap: number): Capability[] {
  return allCapabilities.slice(0, Math.max(0, capLastCap + 1));
}

/**
 * Why `name` is not a capability a spec may use, or undefined when it is fine.
 * A bare name that would be valid with the prefix gets a hint.
 */
export function capabilityProblem(name: string, capLastCap: number): string | undefined {
  const n = capabilityNumber(name);
  if (n === undefined) {
    const hint = isCapability(`CAP_${name.toUpperCase()}`)
      ? ` (did you mean "CAP_${name.toUpperCase()}"?)`
      : "";
    return `unknown capability ${JSON.stringify(name)}${hint}`;
  }
  if (n > capLastCap) {
    return `capability ${name} (${n}) is not supported by this kernel (cap_last_cap is ${capLastCap})`;
  }
  return undefined;
}
