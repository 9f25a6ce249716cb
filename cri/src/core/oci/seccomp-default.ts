/**
 * Skiff's RuntimeDefault seccomp profile, an OCI LinuxSeccomp.
 *
 * An allowlist: every system call not listed fails with EPERM (defaultAction
 * SCMP_ACT_ERRNO, defaultErrnoRet 1). It was written for Skiff from the documented
 * behaviour of the Docker/containerd default profile (Docker's "Seccomp security
 * profiles for Docker" page lists the significant blocked calls and why) and from the
 * man pages of each call; no profile file was copied. The result was then compared with
 * Docker's published default: where they differ, this profile is the stricter one (it
 * also gates clock_adjtime, process_vm_*, fanotify and the mount-listing calls behind
 * their capabilities and refuses modify_ldt), except for a few i386 legacy aliases of
 * allowed calls (sigaction, signal, nice...). Calls are grouped by purpose:
 *
 * - `alwaysAllowed`: what ordinary programs need. A call is here only when the kernel
 *   already confines it to the caller's own process, files, or namespaces.
 * - `capabilityGated`: calls the kernel itself guards with a capability. They are
 *   allowed only when the container holds that capability (in its bounding set), so a
 *   container granted CAP_SYS_ADMIN can mount, one granted CAP_SYS_TIME can set time.
 * - argument-filtered rules: clone without namespace flags, personality with the harmless
 *   personas only, socket for any family except AF_ALG (the kernel crypto API, a large
 *   attack surface no container needs) and AF_VSOCK (global across network namespaces:
 *   it would reach the host's virtual machines).
 * - clone3 answers ENOSYS (not EPERM) without CAP_SYS_ADMIN: its flags sit in memory
 *   where seccomp cannot read them, and ENOSYS makes glibc fall back to clone.
 * - `documentedBlocked` and `otherBlocked`: what is refused to a container without the
 *   capability, with the reason. Every system call in syscalls.ts is either always
 *   allowed, argument-filtered, or in one of these lists (a unit test checks it), so a
 *   newly added kernel call must be classified before it is allowed.
 *
 * For the seccomp loader (skiff-shim): a name the loader's libseccomp cannot resolve
 * (Debian 12's 2.5.4 lacks the calls of Linux 6.8 and later) should be skipped, leaving
 * that call denied, rather than failing the container.
 * A loader should also answer ENOSYS rather than EPERM for system call numbers newer than
 * any the profile names, as runc does, so that libc falls back from calls it probes.
 */

import { release } from "node:os";

import type { LinuxSeccomp, LinuxSeccompArch, LinuxSyscall } from "./spec.js";

const EPERM = 1;
const ENOSYS = 38;
/** Socket families above AF_ALG that stay allowed: AF_NFC, AF_KCM .. AF_MCTP. */
const AF_ALG = 38;
const allowedFamiliesAboveAlg = [39, 41, 42, 43, 44, 45];

/** Namespace flags of clone(2). CLONE_NEWTIME shares its bit with CSIGNAL and is clone3-only. */
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
export const cloneNamespaceFlags =
  CLONE_NEWNS |
  CLONE_NEWCGROUP |
  CLONE_NEWUTS |
  CLONE_NEWIPC |
  CLONE_NEWUSER |
  CLONE_NEWPID |
  CLONE_NEWNET;

/** personality(2) values that change nothing security-relevant. */
const PER_LINUX = 0x0000;
const PER_LINUX32 = 0x0008;
const UNAME26 = 0x0020000;
const PER_QUERY = 0xffffffff;

export interface SyscallGroup {
  purpose: string;
  names: readonly string[];
}

export const alwaysAllowed: readonly SyscallGroup[] = [
  {
    purpose: "read and write open descriptors",
    names: [
      "read",
      "write",
      "readv",
      "writev",
      "pread64",
      "pwrite64",
      "preadv",
      "preadv2",
      "pwritev",
      "pwritev2",
      "lseek",
      "_llseek",
      "sendfile",
      "sendfile64",
      "splice",
      "tee",
      "vmsplice",
      "copy_file_range",
      "readahead",
      "fadvise64",
      "fadvise64_64",
    ],
  },
  {
    purpose: "manage descriptors",
    names: [
      "close",
      "close_range",
      "dup",
      "dup2",
      "dup3",
      "fcntl",
      "fcntl64",
      "ioctl",
      "flock",
      "pipe",
      "pipe2",
    ],
  },
  {
    purpose: "flush and size files",
    names: [
      "fsync",
      "fdatasync",
      "sync",
      "syncfs",
      "sync_file_range",
      "fallocate",
      "truncate",
      "truncate64",
      "ftruncate",
      "ftruncate64",
      "cachestat",
    ],
  },
  {
    purpose: "open, look up and list files",
    names: [
      "open",
      "openat",
      "openat2",
      "creat",
      "access",
      "faccessat",
      "faccessat2",
      "stat",
      "stat64",
      "lstat",
      "lstat64",
      "fstat",
      "fstat64",
      "newfstatat",
      "fstatat64",
      "statx",
      "statfs",
      "statfs64",
      "fstatfs",
      "fstatfs64",
      "getdents",
      "getdents64",
      "getcwd",
      "chdir",
      "fchdir",
      "readlink",
      "readlinkat",
      "name_to_handle_at",
    ],
  },
  {
    purpose: "create, rename and remove files (mknod of devices is gated by CAP_MKNOD)",
    names: [
      "mkdir",
      "mkdirat",
      "rmdir",
      "rename",
      "renameat",
      "renameat2",
      "link",
      "linkat",
      "unlink",
      "unlinkat",
      "symlink",
      "symlinkat",
      "mknod",
      "mknodat",
    ],
  },
  {
    purpose: "file modes, owners, times and attributes",
    names: [
      "chmod",
      "fchmod",
      "fchmodat",
      "fchmodat2",
      "chown",
      "chown32",
      "fchown",
      "fchown32",
      "fchownat",
      "lchown",
      "lchown32",
      "umask",
      "utime",
      "utimes",
      "utimensat",
      "utimensat_time64",
      "futimesat",
      "setxattr",
      "lsetxattr",
      "fsetxattr",
      "setxattrat",
      "getxattr",
      "lgetxattr",
      "fgetxattr",
      "getxattrat",
      "listxattr",
      "llistxattr",
      "flistxattr",
      "listxattrat",
      "removexattr",
      "lremovexattr",
      "fremovexattr",
      "removexattrat",
    ],
  },
  {
    purpose: "watch files",
    names: ["inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch"],
  },
  {
    purpose: "memory of the calling process",
    names: [
      "brk",
      "mmap",
      "mmap2",
      "munmap",
      "mremap",
      "mprotect",
      "madvise",
      "mincore",
      "msync",
      "mlock",
      "mlock2",
      "munlock",
      "mlockall",
      "munlockall",
      "membarrier",
      "memfd_create",
      "memfd_secret",
      "pkey_alloc",
      "pkey_free",
      "pkey_mprotect",
      "remap_file_pages",
      "map_shadow_stack",
      "mseal",
      "uretprobe",
    ],
  },
  {
    purpose: "create, run and reap processes and threads (clone is filtered below)",
    names: [
      "fork",
      "vfork",
      "execve",
      "execveat",
      "exit",
      "exit_group",
      "wait4",
      "waitid",
      "waitpid",
      "set_tid_address",
      "set_robust_list",
      "get_robust_list",
      "rseq",
      "restart_syscall",
      "arch_prctl",
      "prctl",
      "set_thread_area",
      "get_thread_area",
    ],
  },
  {
    purpose: "futexes",
    names: ["futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue"],
  },
  {
    purpose: "process identity (changing ids is gated by CAP_SETUID/CAP_SETGID)",
    names: [
      "getpid",
      "gettid",
      "getppid",
      "getpgid",
      "getpgrp",
      "setpgid",
      "getsid",
      "setsid",
      "getuid",
      "getuid32",
      "geteuid",
      "geteuid32",
      "getgid",
      "getgid32",
      "getegid",
      "getegid32",
      "getresuid",
      "getresuid32",
      "getresgid",
      "getresgid32",
      "getgroups",
      "getgroups32",
      "setuid",
      "setuid32",
      "setgid",
      "setgid32",
      "setreuid",
      "setreuid32",
      "setregid",
      "setregid32",
      "setresuid",
      "setresuid32",
      "setresgid",
      "setresgid32",
      "setgroups",
      "setgroups32",
      "setfsuid",
      "setfsuid32",
      "setfsgid",
      "setfsgid32",
      "capget",
      "capset",
    ],
  },
  {
    purpose: "signals",
    names: [
      "kill",
      "tkill",
      "tgkill",
      "rt_sigaction",
      "rt_sigprocmask",
      "rt_sigreturn",
      "rt_sigpending",
      "rt_sigtimedwait",
      "rt_sigtimedwait_time64",
      "rt_sigqueueinfo",
      "rt_tgsigqueueinfo",
      "rt_sigsuspend",
      "sigaction",
      "signal",
      "sigpending",
      "sigprocmask",
      "sigreturn",
      "sigsuspend",
      "sigaltstack",
      "signalfd",
      "signalfd4",
      "pause",
      "pidfd_open",
      "pidfd_send_signal",
    ],
  },
  {
    purpose: "scheduling and limits of own processes (raising them is gated by capabilities)",
    names: [
      "sched_yield",
      "sched_getparam",
      "sched_setparam",
      "sched_getscheduler",
      "sched_setscheduler",
      "sched_get_priority_max",
      "sched_get_priority_min",
      "sched_rr_get_interval",
      "sched_rr_get_interval_time64",
      "sched_getaffinity",
      "sched_setaffinity",
      "sched_getattr",
      "sched_setattr",
      "getpriority",
      "setpriority",
      "nice",
      "ioprio_get",
      "ioprio_set",
      "getrlimit",
      "ugetrlimit",
      "setrlimit",
      "prlimit64",
      "getrusage",
      "times",
      "getcpu",
    ],
  },
  {
    purpose: "read clocks, sleep and timers (setting the clock is gated by CAP_SYS_TIME)",
    names: [
      "time",
      "gettimeofday",
      "clock_gettime",
      "clock_gettime64",
      "clock_getres",
      "clock_getres_time64",
      "clock_nanosleep",
      "clock_nanosleep_time64",
      "nanosleep",
      "adjtimex",
      "alarm",
      "getitimer",
      "setitimer",
      "timer_create",
      "timer_delete",
      "timer_getoverrun",
      "timer_gettime",
      "timer_gettime64",
      "timer_settime",
      "timer_settime64",
      "timerfd_create",
      "timerfd_gettime",
      "timerfd_gettime64",
      "timerfd_settime",
      "timerfd_settime64",
    ],
  },
  {
    purpose: "wait for events",
    names: [
      "poll",
      "ppoll",
      "ppoll_time64",
      "select",
      "_newselect",
      "pselect6",
      "pselect6_time64",
      "epoll_create",
      "epoll_create1",
      "epoll_ctl",
      "epoll_wait",
      "epoll_pwait",
      "epoll_pwait2",
      "eventfd",
      "eventfd2",
    ],
  },
  {
    purpose: "asynchronous I/O (io_uring is not here: see otherBlocked)",
    names: [
      "io_setup",
      "io_destroy",
      "io_submit",
      "io_cancel",
      "io_getevents",
      "io_pgetevents",
      "io_pgetevents_time64",
    ],
  },
  {
    purpose: "sockets (socket itself is filtered below; socketcall multiplexes them on i386)",
    names: [
      "socketpair",
      "connect",
      "accept",
      "accept4",
      "bind",
      "listen",
      "shutdown",
      "getsockname",
      "getpeername",
      "setsockopt",
      "getsockopt",
      "sendto",
      "recvfrom",
      "sendmsg",
      "recvmsg",
      "sendmmsg",
      "recvmmsg",
      "recvmmsg_time64",
      "socketcall",
    ],
  },
  {
    purpose: "System V and POSIX IPC, confined by the IPC namespace",
    names: [
      "shmget",
      "shmat",
      "shmdt",
      "shmctl",
      "semget",
      "semop",
      "semtimedop",
      "semtimedop_time64",
      "semctl",
      "msgget",
      "msgsnd",
      "msgrcv",
      "msgctl",
      "ipc",
      "mq_open",
      "mq_unlink",
      "mq_timedsend",
      "mq_timedsend_time64",
      "mq_timedreceive",
      "mq_timedreceive_time64",
      "mq_notify",
      "mq_getsetattr",
    ],
  },
  {
    purpose: "system information and self-sandboxing",
    names: [
      "uname",
      "sysinfo",
      "getrandom",
      "seccomp",
      "landlock_create_ruleset",
      "landlock_add_rule",
      "landlock_restrict_self",
      "process_mrelease",
    ],
  },
];

/** Allowed only when the container's bounding set holds the capability. */
export const capabilityGated: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: [
    // namespaces: creating or entering them
    "unshare",
    "setns",
    "clone3",
    // mounting: the old and the new mount API
    "mount",
    "umount",
    "umount2",
    "open_tree",
    "open_tree_attr",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "listmount",
    "statmount",
    // quotas and the names of the UTS namespace
    "quotactl",
    "quotactl_fd",
    "sethostname",
    "setdomainname",
    // tracing and kernel programs
    "bpf",
    "perf_event_open",
    "lookup_dcookie",
    "fanotify_init",
    "fanotify_mark",
    // LSM attributes of the caller
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
  ],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_MODULE: ["init_module", "finit_module", "delete_module"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_TIME: [
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "clock_adjtime",
    "clock_adjtime64",
  ],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["mbind", "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node"],
  CAP_SYSLOG: ["syslog"],
  CAP_SYS_PTRACE: [
    "ptrace",
    "kcmp",
    "pidfd_getfd",
    "process_madvise",
    "process_vm_readv",
    "process_vm_writev",
  ],
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
  CAP_SYS_CHROOT: ["chroot"],
};

/**
 * Docker's documented list of significant calls its default profile blocks, with the
 * reason given there. Some are allowed here when a capability grants the same power
 * (see capabilityGated); the others are refused to everyone.
 */
export const documentedBlocked: Readonly<Record<string, string>> = {
  acct: "process accounting could disable the container's own limits; CAP_SYS_PACCT",
  add_key: "the kernel keyring is not namespaced",
  bpf: "persistent BPF programs in the kernel; CAP_SYS_ADMIN or CAP_BPF",
  clock_adjtime: "time is not namespaced; CAP_SYS_TIME",
  clock_settime: "time is not namespaced; CAP_SYS_TIME",
  clone: "new namespaces; allowed without namespace flags",
  create_module: "kernel modules (obsolete)",
  delete_module: "kernel modules; CAP_SYS_MODULE",
  finit_module: "kernel modules; CAP_SYS_MODULE",
  get_kernel_syms: "kernel and module symbols (obsolete)",
  get_mempolicy: "NUMA memory policy; CAP_SYS_NICE",
  init_module: "kernel modules; CAP_SYS_MODULE",
  ioperm: "I/O privilege levels; CAP_SYS_RAWIO",
  iopl: "I/O privilege levels; CAP_SYS_RAWIO",
  kcmp: "process inspection; CAP_SYS_PTRACE",
  kexec_file_load: "loading a new kernel",
  kexec_load: "loading a new kernel",
  keyctl: "the kernel keyring is not namespaced",
  lookup_dcookie: "tracing that leaks host information; CAP_SYS_ADMIN",
  mbind: "NUMA memory policy; CAP_SYS_NICE",
  mount: "mounting; CAP_SYS_ADMIN",
  move_pages: "moves other processes' pages between NUMA nodes",
  nfsservctl: "the kernel NFS daemon (obsolete)",
  open_by_handle_at: "cause of an old container breakout; CAP_DAC_READ_SEARCH",
  perf_event_open: "tracing that leaks host information; CAP_SYS_ADMIN or CAP_PERFMON",
  personality: "BSD emulation and untested personas; allowed for harmless values",
  pivot_root: "a privileged operation, done by the runtime before the container starts",
  process_vm_readv: "process inspection; CAP_SYS_PTRACE",
  process_vm_writev: "process inspection; CAP_SYS_PTRACE",
  ptrace: "tracing; allowed on kernels from 4.8, else CAP_SYS_PTRACE",
  query_module: "kernel modules (obsolete)",
  quotactl: "quotas could lift the container's own limits; CAP_SYS_ADMIN",
  reboot: "rebooting the host; CAP_SYS_BOOT",
  request_key: "the kernel keyring is not namespaced",
  set_mempolicy: "NUMA memory policy; CAP_SYS_NICE",
  setns: "joining namespaces; CAP_SYS_ADMIN",
  settimeofday: "time is not namespaced; CAP_SYS_TIME",
  stime: "time is not namespaced; CAP_SYS_TIME",
  swapon: "swap is host-wide",
  swapoff: "swap is host-wide",
  sysfs: "obsolete",
  _sysctl: "obsolete, replaced by /proc/sys",
  umount: "a privileged operation; CAP_SYS_ADMIN",
  umount2: "a privileged operation; CAP_SYS_ADMIN",
  unshare: "new namespaces; CAP_SYS_ADMIN",
  uselib: "old shared-library loading, unused for a long time",
  userfaultfd: "userspace page-fault handling, a kernel exploitation aid",
  ustat: "obsolete",
  vm86: "in-kernel x86 real-mode virtual machine",
  vm86old: "in-kernel x86 real-mode virtual machine",
};

/** Blocked for reasons beyond Docker's documented list. */
export const otherBlocked: Readonly<Record<string, string>> = {
  io_uring_setup: "io_uring: a large kernel attack surface that bypasses seccomp per operation",
  io_uring_enter: "io_uring: a large kernel attack surface that bypasses seccomp per operation",
  io_uring_register: "io_uring: a large kernel attack surface that bypasses seccomp per operation",
  modify_ldt: "x86 LDT changes, needed only by 16-bit code; a history of kernel bugs",
  sethostname: "the UTS namespace names are set by the runtime; CAP_SYS_ADMIN",
  setdomainname: "the UTS namespace names are set by the runtime; CAP_SYS_ADMIN",
  chroot: "CAP_SYS_CHROOT",
  vhangup: "CAP_SYS_TTY_CONFIG",
  syslog: "the kernel log is not namespaced; CAP_SYSLOG",
  fanotify_init: "filesystem-wide event monitoring; CAP_SYS_ADMIN",
  fanotify_mark: "filesystem-wide event monitoring; CAP_SYS_ADMIN",
  pidfd_getfd: "takes descriptors from other processes; CAP_SYS_PTRACE",
  process_madvise: "advice on other processes' memory; CAP_SYS_PTRACE",
  set_mempolicy_home_node: "NUMA memory policy; CAP_SYS_NICE",
  migrate_pages: "moves other processes' pages between NUMA nodes",
  clock_settime64: "time is not namespaced; CAP_SYS_TIME",
  clock_adjtime64: "time is not namespaced; CAP_SYS_TIME",
  clone3: "flags are out of seccomp's reach; ENOSYS so libc falls back to clone",
  open_tree: "mount API; CAP_SYS_ADMIN",
  open_tree_attr: "mount API; CAP_SYS_ADMIN",
  move_mount: "mount API; CAP_SYS_ADMIN",
  fsopen: "mount API; CAP_SYS_ADMIN",
  fsconfig: "mount API; CAP_SYS_ADMIN",
  fsmount: "mount API; CAP_SYS_ADMIN",
  fspick: "mount API; CAP_SYS_ADMIN",
  mount_setattr: "mount API; CAP_SYS_ADMIN",
  listmount: "lists mounts by id, including ones hidden by the mount namespace's root",
  statmount: "reads mounts by id, including ones hidden by the mount namespace's root",
  quotactl_fd: "quotas could lift the container's own limits; CAP_SYS_ADMIN",
  lsm_get_self_attr: "LSM interface, not needed by containers; CAP_SYS_ADMIN",
  lsm_set_self_attr: "changes the caller's LSM labels; CAP_SYS_ADMIN",
  lsm_list_modules: "LSM interface, not needed by containers; CAP_SYS_ADMIN",
  file_getattr: "new in 6.17 and not yet needed; the FS_IOC_FSGETXATTR ioctl does the same",
  file_setattr: "new in 6.17 and not yet needed; the FS_IOC_FSSETXATTR ioctl does the same",
  epoll_ctl_old: "never implemented",
  epoll_wait_old: "never implemented",
  getpmsg: "never implemented",
  putpmsg: "never implemented",
  afs_syscall: "never implemented",
  tuxcall: "never implemented",
  security: "never implemented",
  vserver: "never implemented",
  break: "never implemented (i386)",
  ftime: "never implemented (i386)",
  gtty: "never implemented (i386)",
  stty: "never implemented (i386)",
  lock: "never implemented (i386)",
  mpx: "never implemented (i386)",
  prof: "never implemented (i386)",
  profil: "never implemented (i386)",
  ulimit: "never implemented (i386)",
  idle: "obsolete (i386)",
  bdflush: "obsolete (i386)",
  oldstat: "obsolete stat layout (i386)",
  oldfstat: "obsolete stat layout (i386)",
  oldlstat: "obsolete stat layout (i386)",
  olduname: "obsolete uname layout (i386)",
  oldolduname: "obsolete uname layout (i386)",
  readdir: "obsolete, replaced by getdents (i386)",
  sgetmask: "obsolete signal mask calls (i386)",
  ssetmask: "obsolete signal mask calls (i386)",
};

/** ARM-only calls, allowed when the profile targets ARM. */
export const armAllowed: readonly string[] = [
  "arm_fadvise64_64",
  "arm_sync_file_range",
  "sync_file_range2",
  "breakpoint",
  "cacheflush",
  "set_tls",
];

export interface RuntimeDefaultOptions {
  /** Node's process.arch of the host; selects the architectures. Default: process.arch. */
  arch?: string;
  /** uname -r; ptrace is allowed to everyone only from 4.8. Default: os.release(). */
  kernelRelease?: string;
}

/** The seccomp architectures of a host: the native ABI and its compat ABIs. */
export function seccompArchitecturesFor(arch: string): LinuxSeccompArch[] {
  switch (arch) {
    case "x64":
      return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    case "arm64":
      return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
    case "arm":
      return ["SCMP_ARCH_ARM"];
    case "ia32":
      return ["SCMP_ARCH_X86"];
    default:
      return [];
  }
}

/** True for a kernel release at or above major.minor. */
function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return true;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

/**
 * The RuntimeDefault profile for a container whose bounding set is `capabilities`
 * (names with the CAP_ prefix). Calls gated by a capability the container lacks stay
 * denied with EPERM, as the kernel would answer.
 */
export function runtimeDefaultProfile(
  capabilities: readonly string[],
  options: RuntimeDefaultOptions = {},
): LinuxSeccomp {
  const arch = options.arch ?? process.arch;
  const kernelRelease = options.kernelRelease ?? defaultKernelRelease();
  const caps = new Set(capabilities);
  const has = (cap: string): boolean => caps.has(cap);

  const allowed = new Set<string>();
  for (const group of alwaysAllowed) for (const name of group.names) allowed.add(name);
  if (arch === "arm64" || arch === "arm") for (const name of armAllowed) allowed.add(name);
  if (kernelAtLeast(kernelRelease, 4, 8)) allowed.add("ptrace");
  for (const [cap, names] of Object.entries(capabilityGated)) {
    if (has(cap)) for (const name of names) allowed.add(name);
  }

  const syscalls: LinuxSyscall[] = [{ names: [...allowed].sort(), action: "SCMP_ACT_ALLOW" }];

  if (!has("CAP_SYS_ADMIN")) {
    // clone without namespace flags (x86 and ARM pass the flags in argument 0).
    syscalls.push({
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: cloneNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  } else {
    syscalls.push({ names: ["clone"], action: "SCMP_ACT_ALLOW" });
  }

  for (const persona of [PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, PER_QUERY]) {
    syscalls.push({
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: persona, op: "SCMP_CMP_EQ" }],
    });
  }

  // socket(2) by family: below AF_ALG, then the listed families (AF_VSOCK is 40). New
  // families stay denied until listed. socketcall(2) (i386) cannot be filtered this way.
  syscalls.push({
    names: ["socket"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: AF_ALG, op: "SCMP_CMP_LT" }],
  });
  for (const family of allowedFamiliesAboveAlg) {
    syscalls.push({
      names: ["socket"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: family, op: "SCMP_CMP_EQ" }],
    });
  }

  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: seccompArchitecturesFor(arch),
    syscalls,
  };
}

function defaultKernelRelease(): string {
  return process.platform === "linux" ? release() : "0.0";
}
