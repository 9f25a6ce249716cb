/*
 * skiff-shim: the native half of Skiff's container setup. All policy is decided in TS
 * (cri/src/core/shim/plan.ts); this program only carries a fully resolved plan out.
 *
 * MODES
 *   skiff-shim create   plan on fd 3, status on fd 4 (fallback: stderr)
 *   skiff-shim exec     plan on fd 3, status on fd 4; the process gets fds 0-2 (or a pty)
 *   skiff-shim exec --spare   fd 3 holds only the container's cgroup records: the shim
 *                       joins those cgroups, then reads the exec's plan from fd 5
 *   skiff-shim unpack   layer tar (or gzip of one) on stdin (protocol in unpack.c)
 *   skiff-shim port-forward NETNS PORT   connect to 127.0.0.1:PORT inside NETNS and hand
 *                       the socket to skiff-cri (protocol in portforward.c)
 *   skiff-shim launch   spawned by skiff-cri ahead of need (a fork of skiff-cri blocks
 *                       its event loop for milliseconds): reads arg, env (none: keep
 *                       its own), cwd and setsid records from fd 5, then execs that
 *                       program with its fds 0-4; errors on stderr
 *   skiff-shim netns FILE   a new network namespace bind-mounted on FILE, loopback up
 *   skiff-shim mount FSTYPE SOURCE TARGET FLAGS DATA   one mount(2) on the host
 *   skiff-shim --version
 *
 * PLAN FORMAT (fd 3, read to EOF, at most 1 MiB)
 *   A sequence of records. A record is a key followed by a fixed number of fields (the
 *   table `keys` below); key and fields are each terminated by one NUL byte. Numbers are
 *   decimal (or 0x hex for capability masks); an unknown key, a missing field or a bad
 *   number stops the shim with stage "plan". Records of the same key keep their order.
 *     version 1 | state_dir PATH | rootfs PATH | rootfs_propagation MSFLAGS
 *     readonly_rootfs | ns TYPE PATH (empty PATH: new; TYPE pid mount uts ipc network user
 *     cgroup) | uid_map IN OUT COUNT | gid_map IN OUT COUNT
 *     mount SRC DST FSTYPE MSFLAGS DATA PROPAGATION_MSFLAGS ATTR_SET ATTR_CLR
 *       (MS_BIND: open_tree + move_mount, MS_RDONLY/NOSUID/NODEV/NOEXEC/atime applied to
 *       the top mount; ATTR_SET/CLR are MOUNT_ATTR_* applied recursively: rro)
 *     device PATH c|b MAJOR MINOR MODE UID GID | symlink TARGET PATH
 *     masked PATH | readonly PATH | hostname S | domainname S | sysctl KEY VALUE
 *     rlimit RESOURCE SOFT HARD | oom_score_adj N | caps EFF PRM INH BND AMB (hex masks)
 *     no_new_privs | seccomp DEFAULT_ACTION ERRNO | seccomp_arch NAME | seccomp_flag NAME
 *     seccomp_rule ACTION ERRNO SYSCALL, then seccomp_arg INDEX OP VALUE VALUE2 records
 *       that belong to it (ACTION: SCMP_ACT_*; OP: SCMP_CMP_*; unknown syscalls skipped)
 *     user UID GID | group GID | env K=V | arg S | cwd PATH | terminal | stdin
 *     cgroup2 DIR (clone3 CLONE_INTO_CGROUP; cgroup.procs fallback) | cgroup1 DIR
 *     log_path PATH | log_max_line N | oom_events FILE (memory.events or
 *     memory.oom_control: its "oom_kill N" is compared before start and after exit)
 *     ctl_fifo PATH (exec only: resize commands for the exec's tty)
 *     seccomp_cache FILE: the compiled filter of this profile (TS names it by a hash of
 *       the seccomp records, in a root-only dir); read when present, else written
 *     console_socket PATH (with terminal): the pty master is sent over this unix stream
 *       socket (SCM_RIGHTS, payload "/dev/ptmx", as runc does) and not kept or relayed
 *
 * STATUS (fd 4): one line. create: "ok <container pid> <monitor pid>"; exec:
 *   "exit <code> <signal>" (code is 128+signal when killed); both: "error <message>"
 *   where message is "<stage>: <detail>: <ENAME> (<errno>)". Exit code 0 ok, 1 error.
 *
 * CREATE: stages and processes
 *   shim (P) reads the plan (and re-executes itself from a sealed memfd when the plan
 *      joins a pid namespace, see EXEC), forks the monitor (M), relays M's report.
 *   M: setsid, stdio to /dev/null, chdir state_dir, mkfifo ctl, pipes or pty, setns
 *      into a joined pid namespace, clone3(CLONE_NEWPID|CLONE_NEWUSER as asked,
 *      CLONE_INTO_CGROUP) of the container (C); writes uid/gid maps and cgroup1 (or
 *      fallback cgroup2) cgroup.procs; sends 'g'.
 *   C: join namespaces (user first, all opened before any setns), unshare the new ones,
 *      mounts in plan order (targets resolved with openat2 RESOLVE_IN_ROOT, mounted
 *      through fds), devices, symlinks, /dev/console (RESOLVE_NO_SYMLINKS), sysctls,
 *      hostname, pivot_root, masked and read-only paths (RESOLVE_NO_SYMLINKS), read-only
 *      root, rlimits, oom_score_adj (kept when the kernel refuses it), seccomp (compiled
 *      to BPF before any of this, loaded here unless no_new_privs), groups/uid, capabilities, no_new_privs, close
 *      every fd but 0-2 and sync, chdir cwd (checked reachable), executable lookup;
 *      sends 'C' and blocks for 'S' (dying with M until then: PDEATHSIG); then loads
 *      seccomp (with no_new_privs) and execve()s. Any failure: 'E'+message on sync, exit.
 *   M writes state_dir/pid, opens the log and the attach socket, reports "ok", serves.
 *   START is one line "s" written to the ctl fifo (no process needed): M sends 'S'.
 * STATE DIR (create): pid, ctl (fifo: "s\n" start, "r\n" reopen log, "w R C\n" resize),
 *   attach (unix stream socket, see monitor.c), exit (written by rename: lines
 *   "code N", "signal N", "time_ns N", "oom_killed 0|1", optionally "error MESSAGE").
 * EXEC: the shim runs from a sealed memfd copy (CVE-2019-5736), joins the pid namespace,
 *   clone3s the process into the cgroup, which joins the other namespaces and finishes
 *   as C does without waiting; the shim relays the tty if any and reports the exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "unpack.h"

struct plan plan;
int report_fd = 4;
enum report_mode report_mode = REPORT_STATUS;

static const struct {
	const char *name;
	int nf;
} keys[K_COUNT] = {
	[K_VERSION] = {"version", 1}, [K_STATE_DIR] = {"state_dir", 1},
	[K_ROOTFS] = {"rootfs", 1}, [K_ROOTFS_PROPAGATION] = {"rootfs_propagation", 1},
	[K_READONLY_ROOTFS] = {"readonly_rootfs", 0}, [K_NS] = {"ns", 2},
	[K_UID_MAP] = {"uid_map", 3}, [K_GID_MAP] = {"gid_map", 3}, [K_MOUNT] = {"mount", 8},
	[K_DEVICE] = {"device", 7}, [K_SYMLINK] = {"symlink", 2}, [K_MASKED] = {"masked", 1},
	[K_READONLY] = {"readonly", 1}, [K_HOSTNAME] = {"hostname", 1},
	[K_DOMAINNAME] = {"domainname", 1}, [K_SYSCTL] = {"sysctl", 2},
	[K_RLIMIT] = {"rlimit", 3}, [K_OOM_SCORE_ADJ] = {"oom_score_adj", 1},
	[K_CAPS] = {"caps", 5}, [K_NO_NEW_PRIVS] = {"no_new_privs", 0},
	[K_SECCOMP] = {"seccomp", 2}, [K_SECCOMP_ARCH] = {"seccomp_arch", 1},
	[K_SECCOMP_FLAG] = {"seccomp_flag", 1}, [K_SECCOMP_RULE] = {"seccomp_rule", 3},
	[K_SECCOMP_ARG] = {"seccomp_arg", 4}, [K_USER] = {"user", 2}, [K_GROUP] = {"group", 1},
	[K_ENV] = {"env", 1}, [K_ARG] = {"arg", 1}, [K_CWD] = {"cwd", 1},
	[K_TERMINAL] = {"terminal", 0}, [K_STDIN] = {"stdin", 0}, [K_CGROUP2] = {"cgroup2", 1},
	[K_CGROUP1] = {"cgroup1", 1}, [K_LOG_PATH] = {"log_path", 1},
	[K_LOG_MAX_LINE] = {"log_max_line", 1}, [K_OOM_EVENTS] = {"oom_events", 1},
	[K_CTL_FIFO] = {"ctl_fifo", 1}, [K_SECCOMP_CACHE] = {"seccomp_cache", 1},
	[K_CONSOLE_SOCKET] = {"console_socket", 1}, [K_SETSID] = {"setsid", 0},
};

#define PLAN_MAX (1u << 20)

static void vreport(const char *stage, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = snprintf(msg, sizeof msg, report_mode == REPORT_SYNC ? "E%s: " : "error %s: ", stage);
	n += vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	if (n >= (int)sizeof msg - 64)
		n = sizeof msg - 64;
	if (err)
		n += snprintf(msg + n, sizeof msg - n, ": %s (%d)", strerrorname_np(err) ?: "E?", err);
	if (report_mode == REPORT_STATUS)
		msg[n++] = '\n';
	if (report_mode == REPORT_SYNC)
		send(report_fd, msg, n, MSG_NOSIGNAL);
	else if (write(report_fd, msg, n) < 0)
		(void)!write(2, msg, n);
}

void die(const char *stage, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(stage, err, fmt, ap);
	va_end(ap);
	_exit(1);
}

void die0(const char *stage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(stage, 0, fmt, ap);
	va_end(ap);
	_exit(1);
}

void plan_read(int fd)
{
	plan.maplen = PLAN_MAX * 2;
	plan.buf = mmap(NULL, plan.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plan.buf == MAP_FAILED)
		die("plan", "mmap");
	for (;;) {
		ssize_t r = read(fd, plan.buf + plan.len, PLAN_MAX - plan.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("plan", "read fd %d", fd);
		if (r == 0)
			break;
		plan.len += r;
		if (plan.len == PLAN_MAX)
			die0("plan", "larger than %u bytes", PLAN_MAX);
	}
	close(fd);
	if (plan.len == 0 || plan.buf[plan.len - 1] != '\0')
		die0("plan", "empty or not NUL-terminated");
	/* the field pointers live in the second half of the mapping */
	char **fields = (char **)(plan.buf + PLAN_MAX);
	size_t nf = 0;
	for (char *p = plan.buf; p < plan.buf + plan.len; p += strlen(p) + 1)
		fields[nf++] = p;
	plan.recs = (struct rec *)(fields + nf);
	for (size_t i = 0; i < nf;) {
		int k = 0;
		while (k < K_COUNT && strcmp(keys[k].name, fields[i]) != 0)
			k++;
		if (k == K_COUNT)
			die0("plan", "unknown key '%.64s'", fields[i]);
		if (i + 1 + keys[k].nf > nf)
			die0("plan", "record '%s' needs %d fields", keys[k].name, keys[k].nf);
		plan.recs[plan.n++] = (struct rec){k, fields + i + 1};
		i += 1 + keys[k].nf;
	}
	if (!plan_has(K_VERSION) || strcmp(plan_str(K_VERSION, 0), "1") != 0)
		die0("plan", "version 1 required");
}

void plan_free(void)
{
	munmap(plan.buf, plan.maplen);
	memset(&plan, 0, sizeof plan);
}

const char *plan_str(int k, int field)
{
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == k)
			return plan.recs[i].f[field];
	return NULL;
}

bool plan_has(int k)
{
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == k)
			return true;
	return false;
}

long long num(const char *stage, const char *s, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die0(stage, "bad number '%.32s' (range %lld..%lld)", s, min, max);
	return v;
}

uint64_t unum(const char *stage, const char *s)
{
	char *end;
	errno = 0;
	if (*s == '-')
		die0(stage, "negative number '%.32s'", s);
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die0(stage, "bad number '%.32s'", s);
	return v;
}

int ns_flag(const char *name)
{
	static const struct {
		const char *n;
		int f;
	} t[] = {{"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS}, {"uts", CLONE_NEWUTS},
		 {"ipc", CLONE_NEWIPC}, {"network", CLONE_NEWNET}, {"user", CLONE_NEWUSER},
		 {"cgroup", CLONE_NEWCGROUP}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].f;
	die0("plan", "unknown namespace '%.32s'", name);
}

const char *ns_join_path(int flag)
{
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == K_NS && ns_flag(plan.recs[i].f[0]) == flag && plan.recs[i].f[1][0])
			return plan.recs[i].f[1];
	return NULL;
}

bool ns_new(int flag)
{
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == K_NS && ns_flag(plan.recs[i].f[0]) == flag && !plan.recs[i].f[1][0])
			return true;
	return false;
}

void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= w;
	}
}

/* Writes a file; paths under /proc must really be on procfs (CVE-2025-52881: a mount
 * over /proc must not redirect a sysctl or oom_score_adj write elsewhere). */
int write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct statfs sf;
	if (fd >= 0 && strncmp(path, "/proc/", 6) == 0 && (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, n);
	int err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)n ? 0 : -1;
}

int write_atomic(const char *path, const char *data, size_t n)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	write_all(fd, data, n);
	close(fd);
	return rename(tmp, path);
}

void wait_byte(int fd, char want)
{
	char c;
	ssize_t r;
	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1 || c != want)
		_exit(1); /* the other side is gone: nothing to report to */
}

int open_cgroup2(void)
{
	const char *dir = plan_str(K_CGROUP2, 0);
	if (!dir)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("cgroup", "open %s", dir);
	return fd;
}

/* clone3 like fork(), into the cgroup when cgroupfd >= 0 (falls back to plain clone3). */
pid_t clone_into(uint64_t flags, int cgroupfd, bool *placed)
{
	struct clone_args ca = {.flags = flags, .exit_signal = SIGCHLD};
	*placed = false;
	if (cgroupfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = cgroupfd;
		pid_t pid = syscall(SYS_clone3, &ca, sizeof ca);
		if (pid >= 0) {
			*placed = true;
			return pid;
		}
		ca.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
		ca.cgroup = 0;
	}
	return syscall(SYS_clone3, &ca, sizeof ca);
}

/* Writes pid to cgroup.procs of each cgroup1 dir (and cgroup2 when clone3 did not). */
void place_cgroups(pid_t pid, bool v2_placed)
{
	char path[PATH_MAX], s[24];
	int n = snprintf(s, sizeof s, "%d", pid);
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k != K_CGROUP1 && !(r->k == K_CGROUP2 && !v2_placed))
			continue;
		snprintf(path, sizeof path, "%s/cgroup.procs", r->f[0]);
		if (write_file(path, s, n) < 0)
			die("cgroup", "write %s", path);
	}
}

/* An exec's pty comes from the container's own devpts, as runc's does, so the process
 * finds its terminal under its /dev/pts: its ptmx is opened through /proc/PID/root,
 * resolved inside that root, and used only if it is a devpts node. Otherwise (create,
 * or no devpts there) the host's. */
static int container_ptmx(void)
{
	const char *mnt = ns_join_path(CLONE_NEWNS);
	const char *ns = mnt ? strstr(mnt, "/ns/") : NULL;
	if (!ns)
		return -1;
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%.*s/root", (int)(ns - mnt), mnt);
	int r = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = {.flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int m = r < 0 ? -1 : syscall(SYS_openat2, r, "dev/pts/ptmx", &how, sizeof how);
	struct statfs fs;
	if (m >= 0 && (fstatfs(m, &fs) < 0 || fs.f_type != DEVPTS_SUPER_MAGIC))
		close(m), m = -1;
	if (r >= 0)
		close(r);
	return m;
}

int open_pty(int *slave)
{
	int m = container_ptmx();
	if (m < 0)
		m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || unlockpt(m) < 0)
		die("tty", "open /dev/ptmx");
	*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		die("tty", "open the pty's other end");
	const char *cs = plan_str(K_CONSOLE_SOCKET, 0);
	if (!cs)
		return m;
	char cbuf[CMSG_SPACE(sizeof m)] = {0};
	struct iovec v = {"/dev/ptmx", 9};
	struct msghdr h = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&h);
	*c = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof m), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS};
	memcpy(CMSG_DATA(c), &m, sizeof m);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", cs);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0 || sendmsg(s, &h, MSG_NOSIGNAL) < 0)
		die("tty", "send the pty to console socket %s", cs);
	close(s), close(m);
	return -1;
}

void join_pidns(void)
{
	const char *pidns = ns_join_path(CLONE_NEWPID);
	if (!pidns)
		return;
	int fd = open(pidns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWPID) < 0)
		die("namespaces", "join pid %s", pidns);
	close(fd);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

void rfc3339nano(char out[40])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

static void write_maps(pid_t pid, int key, const char *file)
{
	char buf[4096], path[64];
	size_t n = 0;
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k == key && n < sizeof buf - 80)
			n += snprintf(buf + n, sizeof buf - n, "%llu %llu %llu\n",
				      (unsigned long long)unum("userns", r->f[0]),
				      (unsigned long long)unum("userns", r->f[1]),
				      (unsigned long long)unum("userns", r->f[2]));
	}
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	if (n && write_file(path, buf, n) < 0)
		die("userns", "write %s", path);
}

/* The monitor: create everything the container needs, clone it, then serve. */
static void monitor_create(int report)
{
	report_fd = report;
	setsid();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		die("monitor", "open /dev/null");
	dup2(null, 0), dup2(null, 1), dup2(null, 2);
	close(4);
	const char *dir = plan_str(K_STATE_DIR, 0);
	if (!dir || chdir(dir) < 0)
		die("monitor", "chdir state_dir %s", dir ? dir : "(none)");
	unlink("ctl");
	if (mkfifo("ctl", 0600) < 0)
		die("monitor", "mkfifo ctl");

	bool tty = plan_has(K_TERMINAL);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, master = -1, slave = -1;
	if (tty) {
		master = open_pty(&slave);
	} else {
		if ((plan_has(K_STDIN) && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
		    pipe2(err, O_CLOEXEC) < 0)
			die("monitor", "pipe");
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		die("monitor", "socketpair");

	join_pidns();
	uint64_t flags = (ns_new(CLONE_NEWPID) ? CLONE_NEWPID : 0) |
			 (ns_new(CLONE_NEWUSER) ? CLONE_NEWUSER : 0);
	int cgfd = open_cgroup2();
	bool placed;
	pid_t pid = clone_into(flags, cgfd, &placed);
	if (pid < 0)
		die("clone", "clone3");
	if (pid == 0) {
		close(sp[0]);
		if (tty)
			container_main(sp[1], slave, slave, slave, true);
		container_main(sp[1], in[0] >= 0 ? in[0] : null, out[1], err[1], false);
	}
	close(sp[1]);
	if (cgfd >= 0)
		close(cgfd);
	if (slave >= 0)
		close(slave);
	close(in[0]), close(out[1]), close(err[1]);
	if (flags & CLONE_NEWUSER) {
		write_maps(pid, K_UID_MAP, "uid_map");
		write_maps(pid, K_GID_MAP, "gid_map");
	}
	place_cgroups(pid, placed);
	if (send(sp[0], "g", 1, MSG_NOSIGNAL) != 1)
		die("monitor", "sync");
	char msg[1100];
	ssize_t r = recv(sp[0], msg, sizeof msg - 1, 0);
	if (r <= 0 || msg[0] != 'C') {
		int st;
		waitpid(pid, &st, 0);
		if (r <= 0)
			die0("container", "setup process died (status %d)", st);
		msg[r] = 0;
		dprintf(report, "error %s\n", msg + 1);
		_exit(1);
	}
	char s[64];
	int n = snprintf(s, sizeof s, "%d\n", pid);
	if (write_atomic("pid", s, n) < 0)
		die("monitor", "write pid file");
	monitor_run(pid, sp[0], in[1], out[0], err[0], master);
}

static void create_main(char **argv)
{
	plan_read(3);
	if (ns_join_path(CLONE_NEWPID))
		reexec_sealed(argv, true); /* the setup process will be visible in that pid ns */
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0)
		die("create", "pipe");
	pid_t m = fork();
	if (m < 0)
		die("create", "fork monitor");
	if (m == 0) {
		close(rp[0]);
		monitor_create(rp[1]);
	}
	close(rp[1]);
	char buf[1200];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && ((r = read(rp[0], buf + n, sizeof buf - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += r;
	if (n == 0) {
		int st;
		waitpid(m, &st, WNOHANG);
		die0("create", "monitor exited without a report");
	}
	write_all(report_fd, buf, n);
	_exit(strncmp(buf, "ok ", 3) == 0 ? 0 : 1);
}

/* Called by the monitor once the container is created. */
void report_created(int fd, pid_t pid)
{
	dprintf(fd, "ok %d %d\n", pid, getpid());
	close(fd);
}

/* skiff-shim netns FILE: a new network namespace, bind-mounted on FILE (an empty file
 * that exists), with its loopback up; what `unshare --net=FILE ip link set lo up` does,
 * in one short process instead of two. */
static int netns_main(int argc, char **argv)
{
	report_fd = 2;
	if (argc != 2)
		die0("netns", "usage: skiff-shim netns FILE");
	if (unshare(CLONE_NEWNET) < 0)
		die("netns", "unshare");
	if (mount("/proc/self/ns/net", argv[1], NULL, MS_BIND, NULL) < 0)
		die("netns", "bind-mount on %s", argv[1]);
	struct ifreq lo = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &lo) < 0)
		die("netns", "set lo up");
	return 0;
}

/* skiff-shim mount FSTYPE SOURCE TARGET FLAGS DATA: one mount(2) on the host, its flags
 * (decimal MS_*) and data worked out in TS; a read-only bind is remounted read-only,
 * as a bind ignores MS_RDONLY. */
static int mount_main(int argc, char **argv)
{
	report_fd = 2;
	if (argc != 6)
		die0("mount", "usage: skiff-shim mount FSTYPE SOURCE TARGET FLAGS DATA");
	unsigned long flags = strtoul(argv[4], NULL, 10), keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(argv[2], argv[3], argv[1], flags, argv[5]) < 0)
		die("mount", "%s on %s", argv[2], argv[3]);
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(NULL, argv[3], NULL, MS_BIND | MS_REMOUNT | (flags & keep), NULL) < 0)
		die("mount", "remount %s read-only", argv[3]);
	return 0;
}

static int launch_main(void)
{
	report_fd = 2;
	plan_read(5);
	char *args[256], *envs[1024];
	int na = 0, ne = 0;
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if ((r->k == K_ARG && na == 255) || (r->k == K_ENV && ne == 1023))
			die0("launch", "more than 255 args or 1023 env records");
		if (r->k == K_ARG)
			args[na++] = r->f[0];
		if (r->k == K_ENV)
			envs[ne++] = r->f[0];
	}
	args[na] = NULL, envs[ne] = NULL;
	if (na == 0)
		die0("launch", "no arg records");
	if (plan_has(K_SETSID) && setsid() < 0)
		die("launch", "setsid");
	if (plan_has(K_CWD) && chdir(plan_str(K_CWD, 0)) < 0)
		die("launch", "chdir %s", plan_str(K_CWD, 0));
	execvpe(args[0], args, ne ? envs : environ);
	die("launch", "exec %s", args[0]);
}

int main(int argc, char **argv)
{
	umask(022);
	if (fcntl(4, F_GETFD) < 0)
		report_fd = 2;
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("skiff-shim 0.2.0");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "launch") == 0)
		return launch_main();
	if (argc > 1 && strcmp(argv[1], "netns") == 0)
		return netns_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "mount") == 0)
		return mount_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "unpack") == 0)
		return unpack_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "port-forward") == 0)
		return portforward_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "create") == 0)
		create_main(argv);
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		reexec_sealed(argv, false);
		exec_main(argc > 2 && strcmp(argv[2], "--spare") == 0);
	}
	fprintf(stderr, "usage: skiff-shim create|exec|launch|netns|mount|unpack|port-forward|--version\n");
	return 2;
}
