/*
 * skiff-shim, the container side: everything between clone3 and execve (stages listed in
 * main.c). Runs single-threaded in the child; failures go to the sync socket as
 * "E<stage>: <detail>: <ENAME> (<errno>)" and the child exits.
 * Invariants: every mount target inside the rootfs is opened with openat2 and mounted
 * through its fd (never by path); masked, read-only and console targets refuse symlinks
 * anywhere in their path; only fds 0-2 survive execve; cwd must be inside the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <grp.h>

#include "shim.h"

static int rootfd = -1;
static scmp_filter_ctx seccomp_ctx;
static struct sock_fprog seccomp_prog;
static unsigned seccomp_flags;

static int open_in(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	while (*path == '/')
		path++;
	return syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
#define STRICT (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* Opens the parent directory of path inside root (creating it) and returns the last name. */
static int open_parent(int root, const char *path, char *name, size_t namelen, uint64_t resolve)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	size_t len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = 0;
	char *slash = strrchr(buf, '/');
	const char *base = slash ? slash + 1 : buf;
	if (!*base || strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, namelen, "%s", base);
	if (slash)
		*slash = 0;
	else
		buf[0] = 0;
	/* each prefix is resolved from the root (symlinks stay scoped to it); a missing
	 * component is created with mkdirat on its resolved parent, then resolved again */
	int fd = open_in(root, "", O_PATH | O_DIRECTORY, resolve);
	for (char *p = buf; fd >= 0 && *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = p + strcspn(p, "/"), saved = *end;
		*end = 0;
		int nfd = open_in(root, buf, O_PATH | O_DIRECTORY, resolve);
		if (nfd < 0 && errno == ENOENT && (mkdirat(fd, p, 0755) == 0 || errno == EEXIST))
			nfd = open_in(root, buf, O_PATH | O_DIRECTORY, resolve);
		close(fd);
		fd = nfd;
		*end = saved;
		p = end;
	}
	return fd;
}

/* Creates (dir or empty file) and opens the mount target path inside root. */
static int open_target(int root, const char *path, bool file, uint64_t resolve)
{
	int fd = open_in(root, path, O_PATH, resolve);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char name[NAME_MAX + 1];
	int pfd = open_parent(root, path, name, sizeof name, resolve);
	if (pfd < 0)
		return -1;
	if (file) {
		int f = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f >= 0)
			close(f);
	} else {
		mkdirat(pfd, name, 0755);
	}
	close(pfd);
	return open_in(root, path, O_PATH, resolve);
}

static void fdpath(char out[32], int fd)
{
	snprintf(out, 32, "/proc/self/fd/%d", fd);
}

static unsigned attrs_from_flags(unsigned long f, unsigned *clr)
{
	unsigned a = 0;
	*clr = 0;
	if (f & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (f & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
		*clr |= MOUNT_ATTR__ATIME;
		a |= (f & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (f & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
	}
	return a;
}

static void do_mount(char **f)
{
	const char *src = f[0], *dst = f[1], *type = f[2], *data = f[4];
	unsigned long flags = unum("mount", f[3]), prop = unum("mount", f[5]);
	struct mount_attr rattr = {.attr_set = unum("mount", f[6]), .attr_clr = unum("mount", f[7])};
	bool bind = flags & MS_BIND;
	struct stat st;
	if (bind && stat(src, &st) < 0)
		die("mounts", "bind source %s", src);
	int t = open_target(rootfd, dst, bind && !S_ISDIR(st.st_mode), IN_ROOT);
	if (t < 0)
		die("mounts", "target %s", dst);
	char tp[32];
	fdpath(tp, t);
	if (bind) {
		int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & MS_REC) ? AT_RECURSIVE : 0));
		if (tree < 0)
			die("mounts", "open_tree %s", src);
		struct mount_attr a = {0};
		a.attr_set = attrs_from_flags(flags, (unsigned *)&a.attr_clr);
		if (a.attr_set && mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
			die("mounts", "set attributes of bind %s", dst);
		if (move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die("mounts", "bind %s on %s", src, dst);
		close(tree);
	} else if (mount(src, tp, type, flags, *data ? data : NULL) < 0) {
		die("mounts", "mount %s (%s) on %s", src, type, dst);
	}
	close(t);
	if (!prop && !rattr.attr_set && !rattr.attr_clr)
		return;
	if ((t = open_in(rootfd, dst, O_PATH, IN_ROOT)) < 0)
		die("mounts", "reopen %s", dst);
	fdpath(tp, t);
	if ((rattr.attr_set || rattr.attr_clr) &&
	    mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &rattr, sizeof rattr) < 0)
		die("mounts", "recursive attributes on %s", dst);
	if (prop && mount(NULL, tp, NULL, prop, NULL) < 0)
		die("mounts", "propagation of %s", dst);
	close(t);
}

static void do_device(char **f)
{
	const char *path = f[0];
	mode_t type = strcmp(f[1], "b") == 0 ? S_IFBLK : strcmp(f[1], "c") == 0 ? S_IFCHR : 0;
	if (!type)
		die0("devices", "type of %s must be c or b", path);
	dev_t dev = makedev(num("devices", f[2], 0, 4095), num("devices", f[3], 0, 1048575));
	mode_t mode = num("devices", f[4], 0, 07777);
	char name[NAME_MAX + 1];
	int d = open_parent(rootfd, path, name, sizeof name, IN_ROOT);
	if (d < 0)
		die("devices", "parent of %s", path);
	unlinkat(d, name, 0);
	if (mknodat(d, name, type | mode, dev) < 0) {
		if (errno != EPERM)
			die("devices", "mknod %s", path);
		/* in a user namespace: bind the host's node of the same path */
		int fd = openat(d, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			die("devices", "create %s", path);
		close(fd);
		int t = open_in(d, name, O_PATH, STRICT);
		int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (t < 0 || tree < 0 || move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die("devices", "bind host %s", path);
		close(t), close(tree);
	} else {
		if (fchmodat(d, name, mode, 0) < 0 ||
		    fchownat(d, name, num("devices", f[5], 0, UINT32_MAX), num("devices", f[6], 0, UINT32_MAX), AT_SYMLINK_NOFOLLOW) < 0)
			die("devices", "chown/chmod %s", path);
	}
	close(d);
}

static void do_symlink(char **f)
{
	char name[NAME_MAX + 1];
	int d = open_parent(rootfd, f[1], name, sizeof name, IN_ROOT);
	if (d < 0 || (symlinkat(f[0], d, name) < 0 && errno != EEXIST))
		die("symlinks", "%s -> %s", f[1], f[0]);
	close(d);
}

/* Only namespaced sysctls; the key is a dotted name, the value one line of one setting. */
static void do_sysctl(const char *key, const char *val)
{
	static const struct {
		const char *prefix;
		int ns;
	} ok[] = {{"kernel.msgmax", CLONE_NEWIPC}, {"kernel.msgmnb", CLONE_NEWIPC},
		  {"kernel.msgmni", CLONE_NEWIPC}, {"kernel.sem", CLONE_NEWIPC},
		  {"kernel.shmall", CLONE_NEWIPC}, {"kernel.shmmax", CLONE_NEWIPC},
		  {"kernel.shmmni", CLONE_NEWIPC}, {"kernel.shm_rmid_forced", CLONE_NEWIPC},
		  {"fs.mqueue.", CLONE_NEWIPC}, {"net.", CLONE_NEWNET},
		  {"kernel.hostname", CLONE_NEWUTS}, {"kernel.domainname", CLONE_NEWUTS}};
	size_t klen = strlen(key);
	if (klen == 0 || klen > 200 || key[0] == '.' || strstr(key, "..") || key[klen - 1] == '.')
		die0("sysctl", "bad key '%.64s'", key);
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			die0("sysctl", "bad key '%.64s'", key);
	for (const char *p = val; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f || *p == '=' || *p == '+')
			die0("sysctl", "value of %s would set more than one value", key);
	size_t i = 0, nok = sizeof ok / sizeof ok[0];
	for (; i < nok; i++) {
		size_t pl = strlen(ok[i].prefix);
		if (ok[i].prefix[pl - 1] == '.' ? strncmp(key, ok[i].prefix, pl) == 0 : strcmp(key, ok[i].prefix) == 0)
			break;
	}
	if (i == nok)
		die0("sysctl", "%s is not namespaced", key);
	if (!ns_new(ok[i].ns) && !ns_join_path(ok[i].ns))
		die0("sysctl", "%s needs the container's own namespace", key);
	char path[256];
	int n = snprintf(path, sizeof path, "/proc/sys/%s", key);
	for (char *p = path + 10; p < path + n; p++)
		if (*p == '.')
			*p = '/';
	if (write_file(path, val, strlen(val)) < 0)
		die("sysctl", "write %s", path);
}

static void mask_path(int root, const char *path)
{
	int t = open_in(root, path, O_PATH, STRICT);
	if (t < 0 && errno == ENOENT)
		return;
	if (t < 0)
		die("masked paths", "%s", path);
	struct stat st;
	fstat(t, &st);
	int m;
	if (S_ISDIR(st.st_mode)) {
		int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
		    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			die("masked paths", "tmpfs for %s", path);
		m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		close(fs);
	} else {
		int null = open_in(root, "/dev/null", O_PATH, STRICT);
		struct stat ns;
		if (null < 0 || fstat(null, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
			die0("masked paths", "/dev/null is not the null device");
		m = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		close(null);
	}
	if (m < 0 || move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("masked paths", "mount over %s", path);
	close(m), close(t);
}

static void readonly_path(int root, const char *path)
{
	int t = open_in(root, path, O_PATH, STRICT);
	if (t < 0 && errno == ENOENT)
		return;
	if (t < 0)
		die("readonly paths", "%s", path);
	int m = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (m < 0 || mount_setattr(m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0 ||
	    move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("readonly paths", "bind %s read-only", path);
	close(m), close(t);
}

/* The pty slave is bound over /dev/console (before pivot_root, by its path in this mount
 * namespace, checked to be the same device) only if the target is a plain file or device. */
static void bind_console(int tty)
{
	int t = open_target(rootfd, "/dev/console", true, STRICT);
	if (t < 0 && errno == ENOENT)
		return; /* no /dev */
	struct stat st, ts, ms;
	if (t < 0 || fstat(t, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		die("console", "/dev/console is not a file");
	char link[32], name[64];
	fdpath(link, tty);
	ssize_t n = readlink(link, name, sizeof name - 1);
	name[n > 0 ? n : 0] = 0;
	int m = open_tree(AT_FDCWD, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (m < 0 || fstat(m, &ms) < 0 || fstat(tty, &ts) < 0 || ms.st_rdev != ts.st_rdev)
		die("console", "clone %s", name);
	if (move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("console", "bind tty on /dev/console");
	close(m), close(t);
}

void join_namespaces(bool skip_pid)
{
	/* user first (it grants the rights for the others); all opened before any setns,
	 * since joining the mount namespace changes what the paths resolve to */
	static const int order[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC,
				    CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWPID};
	int fds[7];
	for (size_t i = 0; i < 7; i++) {
		const char *p = ns_join_path(order[i]);
		fds[i] = -1;
		if (p && !(skip_pid && order[i] == CLONE_NEWPID) && (fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0)
			die("namespaces", "open %s", p);
	}
	for (size_t i = 0; i < 7; i++) {
		if (fds[i] >= 0 && setns(fds[i], order[i]) < 0)
			die("namespaces", "join %s", ns_join_path(order[i]));
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

static void load_rootfs(int tty)
{
	const char *rootfs = plan_str(K_ROOTFS, 0);
	const char *p = plan_str(K_ROOTFS_PROPAGATION, 0);
	unsigned long prop = p ? unum("rootfs", p) : (MS_SLAVE | MS_REC);
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		die("rootfs", "propagation of /");
	/* With shared propagation (bidirectional volumes) the rootfs mount itself goes
	 * private: pivot_root refuses a shared parent, and the container's own mounts
	 * must not show up on the host's copy of its root. */
	if ((prop & MS_SHARED) && mount(NULL, rootfs, NULL, MS_PRIVATE, NULL) < 0)
		die("rootfs", "make %s private (shared propagation needs it to be a mount point)", rootfs);
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("rootfs", "bind %s", rootfs);
	if ((rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("rootfs", "open %s", rootfs);
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k == K_MOUNT)
			do_mount(r->f);
		else if (r->k == K_DEVICE)
			do_device(r->f);
		else if (r->k == K_SYMLINK)
			do_symlink(r->f);
	}
	if (tty >= 0)
		bind_console(tty);
}

static void pivot(void)
{
	/* pivot_root(".", ".") stacks the old root on the new one; from the old root's
	 * directory, make it a slave (so its detach does not reach the host) and detach it.
	 * From the new root's directory, the slave would also cut bidirectional volumes. */
	int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0 || fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", "%s", plan_str(K_ROOTFS, 0));
	if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die("pivot_root", "detach old root");
	close(oldroot);
	close(rootfd);
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k == K_MASKED)
			mask_path(root, r->f[0]);
		else if (r->k == K_READONLY)
			readonly_path(root, r->f[0]);
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (plan_has(K_READONLY_ROOTFS) && mount_setattr(root, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		die("rootfs", "make / read-only");
	close(root);
}

static uint32_t seccomp_action(const char *name, const char *err)
{
	static const struct {
		const char *n;
		uint32_t a;
	} t[] = {{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW}, {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
		 {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD}, {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
		 {"SCMP_ACT_TRAP", SCMP_ACT_TRAP}, {"SCMP_ACT_LOG", SCMP_ACT_LOG}};
	int e = num("seccomp", err, 0, 4095);
	if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		return SCMP_ACT_ERRNO(e);
	if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		return SCMP_ACT_TRACE(e);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].a;
	die0("seccomp", "unsupported action %.40s", name);
}

static enum scmp_compare seccomp_op(const char *n)
{
	static const char *ops[] = {"", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
				    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
	for (int i = 1; i < 8; i++)
		if (strcmp(ops[i], n) == 0)
			return (enum scmp_compare)i;
	die0("seccomp", "unsupported operator %.40s", n);
}

static void add_rule(char **rule, struct scmp_arg_cmp *args, unsigned nargs, uint32_t def)
{
	int sc = seccomp_syscall_resolve_name(rule[2]);
	uint32_t act = seccomp_action(rule[0], rule[1]);
	if (sc == __NR_SCMP_ERROR || act == def)
		return; /* unknown to this kernel/arch, or the default anyway */
	int rc = seccomp_rule_add_array(seccomp_ctx, act, sc, nargs, args);
	if (rc < 0) {
		errno = -rc;
		die("seccomp", "rule for %s", rule[2]);
	}
}

static void seccomp_build(const char *d)
{
	uint32_t def = seccomp_action(d, plan_str(K_SECCOMP, 1));
	if (!(seccomp_ctx = seccomp_init(def)))
		die0("seccomp", "init");
	seccomp_attr_set(seccomp_ctx, SCMP_FLTATR_CTL_NNP, 0);
	char **rule = NULL;
	struct scmp_arg_cmp args[6];
	unsigned nargs = 0;
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k == K_SECCOMP_ARCH) {
			uint32_t a = seccomp_arch_resolve_name(r->f[0]);
			int rc = a ? seccomp_arch_add(seccomp_ctx, a) : -EINVAL;
			if (rc < 0 && rc != -EEXIST)
				die0("seccomp", "architecture %.32s", r->f[0]);
		} else if (r->k == K_SECCOMP_FLAG) {
			if (strcmp(r->f[0], "SECCOMP_FILTER_FLAG_LOG") && strcmp(r->f[0], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") &&
			    strcmp(r->f[0], "SECCOMP_FILTER_FLAG_TSYNC"))
				die0("seccomp", "unsupported flag %.40s", r->f[0]);
		} else if (r->k == K_SECCOMP_RULE) {
			if (rule)
				add_rule(rule, args, nargs, def);
			rule = r->f, nargs = 0;
		} else if (r->k == K_SECCOMP_ARG) {
			if (!rule || nargs == 6)
				die0("seccomp", "argument without rule");
			args[nargs++] = (struct scmp_arg_cmp){
				.arg = num("seccomp", r->f[0], 0, 5), .op = seccomp_op(r->f[1]),
				.datum_a = unum("seccomp", r->f[2]), .datum_b = unum("seccomp", r->f[3])};
		}
	}
	if (rule)
		add_rule(rule, args, nargs, def);
}

static bool read_bpf(int fd)
{
	struct stat st;
	size_t n = fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
	if (n == 0 || n % sizeof(struct sock_filter) || n > BPF_MAXINSNS * sizeof(struct sock_filter))
		return false;
	seccomp_prog.filter = malloc(n);
	if (!seccomp_prog.filter || pread(fd, seccomp_prog.filter, n, 0) != (ssize_t)n)
		return false;
	seccomp_prog.len = n / sizeof(struct sock_filter);
	return true;
}

/* Compiles the profile to BPF (or reads it from the cache) while still in the host's
 * mount namespace, so that loading it later is one seccomp(2) call. */
void seccomp_prepare(void)
{
	const char *d = plan_str(K_SECCOMP, 0), *cache = plan_str(K_SECCOMP_CACHE, 0);
	if (!d)
		return;
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == K_SECCOMP_FLAG)
			seccomp_flags |= strcmp(plan.recs[i].f[0], "SECCOMP_FILTER_FLAG_LOG") == 0 ? SECCOMP_FILTER_FLAG_LOG
				       : strcmp(plan.recs[i].f[0], "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0 ? SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0;
	int fd = cache ? open(cache, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (fd >= 0 && read_bpf(fd)) {
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	seccomp_build(d);
	int m = memfd_create("seccomp", MFD_CLOEXEC);
	int rc = m < 0 ? -errno : seccomp_export_bpf(seccomp_ctx, m);
	if (rc < 0 || !read_bpf(m)) {
		errno = rc < 0 ? -rc : EINVAL;
		die("seccomp", "compile filter");
	}
	close(m);
	seccomp_release(seccomp_ctx);
	if (cache)
		write_atomic(cache, (const char *)seccomp_prog.filter, seccomp_prog.len * sizeof(struct sock_filter));
}

static void seccomp_apply(void)
{
	if (!seccomp_prog.len)
		return;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &seccomp_prog) < 0)
		die("seccomp", "load filter");
	seccomp_prog.len = 0;
}

void apply_limits(void)
{
	for (int i = 0; i < plan.n; i++) {
		struct rec *r = &plan.recs[i];
		if (r->k != K_RLIMIT)
			continue;
		struct rlimit rl = {unum("rlimits", r->f[1]), unum("rlimits", r->f[2])};
		if (setrlimit(num("rlimits", r->f[0], 0, RLIM_NLIMITS - 1), &rl) < 0)
			die("rlimits", "resource %s", r->f[0]);
	}
	const char *adj = plan_str(K_OOM_SCORE_ADJ, 0);
	if (adj) {
		num("oom_score_adj", adj, -1000, 1000);
		/* lowering needs CAP_SYS_RESOURCE: when refused, keep the inherited value */
		if (write_file("/proc/self/oom_score_adj", adj, strlen(adj)) < 0 && errno != EACCES && errno != EPERM)
			die("oom_score_adj", "write %s", adj);
	}
}

static void identity(void)
{
	const char *c = plan_str(K_CAPS, 0);
	uint64_t eff = 0, prm = 0, inh = 0, bnd = 0, amb = 0;
	if (c) {
		eff = unum("capabilities", c), prm = unum("capabilities", plan_str(K_CAPS, 1));
		inh = unum("capabilities", plan_str(K_CAPS, 2)), bnd = unum("capabilities", plan_str(K_CAPS, 3));
		amb = unum("capabilities", plan_str(K_CAPS, 4));
		for (int cap = 0; cap < 64; cap++)
			if (!(bnd & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				die("capabilities", "drop %d from bounding set", cap);
	}
	if (plan_has(K_USER)) {
		gid_t groups[256];
		int ng = 0;
		for (int i = 0; i < plan.n && ng < 256; i++)
			if (plan.recs[i].k == K_GROUP)
				groups[ng++] = num("user", plan.recs[i].f[0], 0, UINT32_MAX - 1);
		uid_t uid = num("user", plan_str(K_USER, 0), 0, UINT32_MAX - 1);
		gid_t gid = num("user", plan_str(K_USER, 1), 0, UINT32_MAX - 1);
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(ng, groups) < 0)
			die("user", "supplementary groups");
		if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			die("user", "switch to %u:%u", uid, gid);
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (c) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2] = {{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
						      {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)}};
		if (syscall(SYS_capset, &h, d) < 0)
			die("capabilities", "capset");
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		for (int cap = 0; cap < 64; cap++)
			if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				die("capabilities", "raise ambient %d", cap);
	}
}

static char *find_exec(const char *arg0, char *buf, size_t len, char **envp)
{
	if (strchr(arg0, '/'))
		return (char *)arg0;
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s/%s", (int)n, path, arg0);
		struct stat st;
		if (n && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* Last stages common to create and exec. wait_start: report 'C' and block for 'S'. */
void finish_and_exec(int sync, bool wait_start)
{
	char *argv[1024], *envp[1024], exe[PATH_MAX];
	int na = 0, ne = 0;
	for (int i = 0; i < plan.n; i++) {
		if (plan.recs[i].k == K_ARG && na < 1023)
			argv[na++] = plan.recs[i].f[0];
		else if (plan.recs[i].k == K_ENV && ne < 1023)
			envp[ne++] = plan.recs[i].f[0];
	}
	argv[na] = envp[ne] = NULL;
	if (na == 0)
		die0("exec", "no args");
	bool nnp = plan_has(K_NO_NEW_PRIVS);
	if (!nnp)
		seccomp_apply(); /* needs CAP_SYS_ADMIN without no_new_privs */
	identity();
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs", "prctl");
	/* only 0-2 and the sync socket (close-on-exec) stay open from here on */
	if (sync != 3 && (dup3(sync, 3, O_CLOEXEC) < 0 || (close(sync), 0)))
		die("fds", "dup sync");
	report_fd = sync = 3;
	if (close_range(4, ~0U, 0) < 0)
		die("fds", "close_range");
	const char *cwd = plan_str(K_CWD, 0) ?: "/";
	char here[PATH_MAX];
	if (chdir(cwd) < 0)
		die("cwd", "chdir %s", cwd);
	if (!getcwd(here, sizeof here) || here[0] != '/')
		die0("cwd", "%s is outside the container root", cwd);
	char *path = find_exec(argv[0], exe, sizeof exe, envp);
	if (!path) {
		errno = ENOENT;
		die("exec", "executable %s not found in $PATH", argv[0]);
	}
	if (wait_start) {
		if (send(sync, "C", 1, MSG_NOSIGNAL) != 1)
			_exit(1);
		wait_byte(sync, 'S');
	}
	/* The container's process outlives a killed monitor; an exec'd one dies with its
	 * skiff-shim if that is killed outright. Re-armed here: a change of credentials
	 * cleared it. */
	prctl(PR_SET_PDEATHSIG, wait_start ? 0 : SIGKILL, 0, 0, 0);
	if (nnp)
		seccomp_apply();
	execve(path, argv, envp);
	die("exec", "execve %s", path);
}

void container_main(int sync, int in, int out, int err, bool tty)
{
	report_fd = sync;
	report_mode = REPORT_SYNC;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(0);
	wait_byte(sync, 'g');
	seccomp_prepare();
	join_namespaces(true);
	int unshare_flags = 0;
	static const int later[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
		if (ns_new(later[i]))
			unshare_flags |= later[i];
	if (unshare_flags && unshare(unshare_flags) < 0)
		die("namespaces", "unshare 0x%x", unshare_flags);
	if (ns_new(CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		die("userns", "become root in the user namespace");
	if (plan_has(K_ROOTFS))
		load_rootfs(tty ? in : -1);
	for (int i = 0; i < plan.n; i++)
		if (plan.recs[i].k == K_SYSCTL)
			do_sysctl(plan.recs[i].f[0], plan.recs[i].f[1]);
	const char *h = plan_str(K_HOSTNAME, 0), *dn = plan_str(K_DOMAINNAME, 0);
	if (h && sethostname(h, strlen(h)) < 0)
		die("hostname", "%s", h);
	if (dn && setdomainname(dn, strlen(dn)) < 0)
		die("domainname", "%s", dn);
	if (plan_has(K_ROOTFS))
		pivot();
	apply_limits();
	umask(022);
	if (setsid() < 0)
		die("stdio", "setsid");
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		die("stdio", "dup2");
	if (tty && ioctl(0, TIOCSCTTY, 0) < 0)
		die("tty", "TIOCSCTTY");
	finish_and_exec(sync, true);
}
