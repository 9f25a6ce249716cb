import { describe, expect, test } from "@jest/globals";

import {
  alwaysAllowed,
  armAllowed,
  capabilityGated,
  cloneNamespaceFlags,
  documentedBlocked,
  otherBlocked,
  runtimeDefaultProfile,
} from "./seccomp-default.js";
import { defaultCapabilities } from "./defaults.js";
import type { LinuxSeccomp, LinuxSeccompArg } from "./spec.js";
import { i386Syscalls, isKnownSyscall, newerSyscalls, x86_64Syscalls } from "./syscalls.js";

/** What the kernel answers a call under a profile: "allow", or the errno returned. */
function decide(profile: LinuxSeccomp, name: string, args: number[] = []): "allow" | number {
  const holds = (a: LinuxSeccompArg): boolean => {
    const x = BigInt(args[a.index] ?? 0);
    const v = BigInt(a.value);
    switch (a.op) {
      case "SCMP_CMP_EQ":
        return x === v;
      case "SCMP_CMP_NE":
        return x !== v;
      case "SCMP_CMP_LT":
        return x < v;
      case "SCMP_CMP_LE":
        return x <= v;
      case "SCMP_CMP_GT":
        return x > v;
      case "SCMP_CMP_GE":
        return x >= v;
      case "SCMP_CMP_MASKED_EQ":
        return (x & v) === BigInt(a.valueTwo ?? 0);
    }
  };
  for (const rule of profile.syscalls ?? []) {
    if (!rule.names.includes(name)) continue;
    if (!(rule.args ?? []).every(holds)) continue;
    if (rule.action === "SCMP_ACT_ALLOW") return "allow";
    return rule.errnoRet ?? profile.defaultErrnoRet ?? 1;
  }
  if (profile.defaultAction === "SCMP_ACT_ALLOW") return "allow";
  return profile.defaultErrnoRet ?? 1;
}

const EPERM = 1;
const ENOSYS = 38;
const x64 = { arch: "x64", kernelRelease: "6.1.0" };
const base = runtimeDefaultProfile([...defaultCapabilities], x64);
const withCaps = (...caps: string[]): LinuxSeccomp =>
  runtimeDefaultProfile([...defaultCapabilities, ...caps], x64);

describe("RuntimeDefault seccomp profile", () => {
  test("denies by default with EPERM on the x86 ABIs", () => {
    expect(base.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(base.defaultErrnoRet).toBe(EPERM);
    expect(base.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(runtimeDefaultProfile([], { arch: "arm64" }).architectures).toEqual([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
  });

  test("allows what ordinary programs use", () => {
    for (const name of [
      "read",
      "write",
      "openat",
      "close",
      "execve",
      "futex",
      "epoll_create1",
      "epoll_ctl",
      "epoll_pwait",
      "mmap",
      "brk",
      "rt_sigaction",
      "exit_group",
      "wait4",
      "getrandom",
      "connect",
      "statx",
      "fchmodat2",
      "uretprobe",
    ]) {
      expect([name, decide(base, name)]).toEqual([name, "allow"]);
    }
  });

  test("blocks every call Docker documents as blocked, for a container with the default capabilities", () => {
    const filtered = ["clone", "personality", "ptrace"];
    for (const name of Object.keys(documentedBlocked)) {
      if (filtered.includes(name)) continue;
      expect([name, decide(base, name)]).toEqual([name, EPERM]);
    }
  });

  test("blocks mount, umount2, kexec_load, init_module, bpf, keyctl, io_uring", () => {
    for (const name of [
      "mount",
      "umount2",
      "kexec_load",
      "init_module",
      "bpf",
      "keyctl",
      "add_key",
      "io_uring_setup",
      "io_uring_enter",
      "open_by_handle_at",
      "setns",
      "pivot_root",
      "perf_event_open",
      "userfaultfd",
    ]) {
      expect([name, decide(base, name)]).toEqual([name, EPERM]);
    }
  });

  test("clone is allowed for threads and processes but not for new namespaces", () => {
    const CLONE_THREAD_FLAGS = 0x003d0f00; // what glibc's pthread_create passes
    const SIGCHLD = 17;
    expect(decide(base, "clone", [CLONE_THREAD_FLAGS])).toBe("allow");
    expect(decide(base, "clone", [SIGCHLD])).toBe("allow");
    expect(decide(base, "clone", [SIGCHLD | 0x40000000])).toBe(EPERM); // CLONE_NEWNET
    expect(decide(base, "clone", [SIGCHLD | 0x10000000])).toBe(EPERM); // CLONE_NEWUSER
    expect(decide(base, "clone", [cloneNamespaceFlags])).toBe(EPERM);
    expect(decide(withCaps("CAP_SYS_ADMIN"), "clone", [SIGCHLD | 0x40000000])).toBe("allow");
  });

  test("unshare and setns need CAP_SYS_ADMIN", () => {
    expect(decide(base, "unshare", [0x00000400])).toBe(EPERM); // CLONE_FILES
    expect(decide(base, "unshare", [0x10000000])).toBe(EPERM); // CLONE_NEWUSER
    expect(decide(base, "setns", [3, 0])).toBe(EPERM);
    expect(decide(withCaps("CAP_SYS_ADMIN"), "unshare", [0x00020000])).toBe("allow");
    expect(decide(withCaps("CAP_SYS_ADMIN"), "setns", [3, 0])).toBe("allow");
  });

  test("clone3 answers ENOSYS without CAP_SYS_ADMIN so libc falls back to clone", () => {
    expect(decide(base, "clone3")).toBe(ENOSYS);
    expect(decide(withCaps("CAP_SYS_ADMIN"), "clone3")).toBe("allow");
  });

  test("personality is allowed only for the harmless personas", () => {
    expect(decide(base, "personality", [0])).toBe("allow");
    expect(decide(base, "personality", [0x0008])).toBe("allow");
    expect(decide(base, "personality", [0xffffffff])).toBe("allow");
    expect(decide(base, "personality", [0x0400000])).toBe(EPERM); // READ_IMPLIES_EXEC
    expect(decide(base, "personality", [0x0040000])).toBe(EPERM); // ADDR_NO_RANDOMIZE
  });

  test("socket is allowed except for AF_VSOCK", () => {
    expect(decide(base, "socket", [2])).toBe("allow"); // AF_INET
    expect(decide(base, "socket", [1])).toBe("allow"); // AF_UNIX
    expect(decide(base, "socket", [16])).toBe("allow"); // AF_NETLINK
    expect(decide(base, "socket", [44])).toBe("allow"); // AF_XDP
    expect(decide(base, "socket", [40])).toBe(EPERM); // AF_VSOCK
    expect(decide(base, "socket", [38])).toBe(EPERM); // AF_ALG
    expect(decide(base, "socket", [46])).toBe(EPERM); // a family newer than this profile
  });

  test("ptrace is allowed from kernel 4.8 and needs CAP_SYS_PTRACE before", () => {
    expect(decide(base, "ptrace")).toBe("allow");
    const old = runtimeDefaultProfile([...defaultCapabilities], {
      arch: "x64",
      kernelRelease: "4.4.0",
    });
    expect(decide(old, "ptrace")).toBe(EPERM);
    const oldPtrace = runtimeDefaultProfile(["CAP_SYS_PTRACE"], {
      arch: "x64",
      kernelRelease: "4.4.0",
    });
    expect(decide(oldPtrace, "ptrace")).toBe("allow");
  });

  test("capability-gated groups open only with their capability", () => {
    const cases: [string, string][] = [
      ["CAP_SYS_ADMIN", "mount"],
      ["CAP_SYS_ADMIN", "setns"],
      ["CAP_SYS_ADMIN", "bpf"],
      ["CAP_BPF", "bpf"],
      ["CAP_PERFMON", "perf_event_open"],
      ["CAP_SYS_BOOT", "reboot"],
      ["CAP_SYS_MODULE", "finit_module"],
      ["CAP_SYS_RAWIO", "iopl"],
      ["CAP_SYS_PACCT", "acct"],
      ["CAP_SYS_TIME", "clock_settime"],
      ["CAP_SYS_NICE", "mbind"],
      ["CAP_SYSLOG", "syslog"],
      ["CAP_SYS_PTRACE", "process_vm_readv"],
      ["CAP_DAC_READ_SEARCH", "open_by_handle_at"],
      ["CAP_SYS_TTY_CONFIG", "vhangup"],
    ];
    for (const [cap, name] of cases) {
      expect([cap, name, decide(base, name)]).toEqual([cap, name, EPERM]);
      expect([cap, name, decide(withCaps(cap), name)]).toEqual([cap, name, "allow"]);
    }
    // CAP_SYS_CHROOT is a default capability, so chroot is allowed by default.
    expect(decide(base, "chroot")).toBe("allow");
    expect(decide(runtimeDefaultProfile([], x64), "chroot")).toBe(EPERM);
  });

  test("some calls stay blocked whatever the capabilities", () => {
    const all = runtimeDefaultProfile(Object.keys(capabilityGated), x64);
    for (const name of ["kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key"]) {
      expect([name, decide(all, name)]).toEqual([name, EPERM]);
    }
    for (const name of [
      "io_uring_setup",
      "uselib",
      "nfsservctl",
      "_sysctl",
      "modify_ldt",
      "pivot_root",
      "swapon",
      "userfaultfd",
      "move_pages",
      "vm86",
    ]) {
      expect([name, decide(all, name)]).toEqual([name, EPERM]);
    }
  });

  test("every name in the profile is in the syscall table", () => {
    const profiles = [
      base,
      runtimeDefaultProfile(Object.keys(capabilityGated), x64),
      runtimeDefaultProfile(Object.keys(capabilityGated), { arch: "arm64" }),
    ];
    for (const profile of profiles) {
      for (const rule of profile.syscalls ?? []) {
        for (const name of rule.names) expect([name, isKnownSyscall(name)]).toEqual([name, true]);
      }
    }
    for (const name of armAllowed) expect(isKnownSyscall(name)).toBe(true);
  });

  test("every known system call is allowed, filtered, or blocked with a reason", () => {
    const allowed = new Set(alwaysAllowed.flatMap((g) => g.names));
    const filtered = new Set(["clone", "personality", "socket", "ptrace"]);
    const blocked = new Set([...Object.keys(documentedBlocked), ...Object.keys(otherBlocked)]);
    const known = new Set([
      ...Object.keys(x86_64Syscalls),
      ...Object.keys(i386Syscalls),
      ...Object.keys(newerSyscalls),
    ]);
    const unclassified = [...known].filter(
      (n) => !allowed.has(n) && !filtered.has(n) && !blocked.has(n),
    );
    expect(unclassified).toEqual([]);
    const both = [...allowed].filter((n) => blocked.has(n) || filtered.has(n));
    expect(both).toEqual([]);
    for (const names of Object.values(capabilityGated)) {
      for (const name of names) expect([name, blocked.has(name)]).toEqual([name, true]);
    }
  });

  test("every allowed name is listed once", () => {
    const names = alwaysAllowed.flatMap((g) => g.names);
    expect(names.length).toBe(new Set(names).size);
  });
});
