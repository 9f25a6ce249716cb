/*
 * skiff-shim: shared declarations. The protocol with TS is written down once, in main.c.
 */
#ifndef SKIFF_SHIM_H
#define SKIFF_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Plan record keys; the table in main.c gives each its name and field count. */
enum key {
	K_VERSION, K_STATE_DIR, K_ROOTFS, K_ROOTFS_PROPAGATION, K_READONLY_ROOTFS, K_NS,
	K_UID_MAP, K_GID_MAP, K_MOUNT, K_DEVICE, K_SYMLINK, K_MASKED, K_READONLY, K_HOSTNAME,
	K_DOMAINNAME, K_SYSCTL, K_RLIMIT, K_OOM_SCORE_ADJ, K_CAPS, K_NO_NEW_PRIVS, K_SECCOMP,
	K_SECCOMP_ARCH, K_SECCOMP_FLAG, K_SECCOMP_RULE, K_SECCOMP_ARG, K_USER, K_GROUP, K_ENV,
	K_ARG, K_CWD, K_TERMINAL, K_STDIN, K_CGROUP2, K_CGROUP1, K_LOG_PATH, K_LOG_MAX_LINE,
	K_OOM_EVENTS, K_CTL_FIFO, K_SECCOMP_CACHE, K_CONSOLE_SOCKET, K_SETSID, K_COUNT
};

struct rec {
	int k;
	char **f;
};

struct plan {
	struct rec *recs;
	int n;
	char *buf; /* mmap'd: the raw plan, then the field pointers */
	size_t len, maplen;
};

extern struct plan plan;

/* main.c: plan access, errors, small helpers */
void plan_read(int fd);
void plan_free(void);
const char *plan_str(int k, int field);         /* first record with key k, or NULL */
bool plan_has(int k);
long long num(const char *stage, const char *s, long long min, long long max);
uint64_t unum(const char *stage, const char *s);
int ns_flag(const char *name);                   /* "pid" -> CLONE_NEWPID, ... */
const char *ns_join_path(int flag);              /* path of a joined namespace, or NULL */
bool ns_new(int flag);                           /* namespace created for the container */

/* Errors: die() formats "<stage>: <detail>: <ENAME> (<errno>)" and reports it where the
 * current process reports (sync socket for the container child, status fd otherwise). */
enum report_mode { REPORT_STATUS, REPORT_SYNC };
extern int report_fd;
extern enum report_mode report_mode;
__attribute__((noreturn, format(printf, 2, 3))) void die(const char *stage, const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void die0(const char *stage, const char *fmt, ...);
void write_all(int fd, const void *buf, size_t n);
int write_file(const char *path, const char *data, size_t n);
int write_atomic(const char *path, const char *data, size_t n);
void wait_byte(int fd, char want);
pid_t clone_into(uint64_t flags, int cgroupfd, bool *placed);
void place_cgroups(pid_t pid, bool v2_placed);
int open_cgroup2(void);
int open_pty(int *slave); /* -1 when the master went to the console socket */
void join_pidns(void);
void rfc3339nano(char out[40]);
uint64_t now_ns(void);
void report_created(int fd, pid_t pid);

/* setup.c: the container side, between clone and execve */
__attribute__((noreturn)) void container_main(int sync, int in, int out, int err, bool tty);
__attribute__((noreturn)) void finish_and_exec(int sync, bool wait_start);
void join_namespaces(bool skip_pid);
void apply_limits(void);
void seccomp_prepare(void);

/* monitor.c */
__attribute__((noreturn)) void monitor_run(pid_t pid, int sync, int in_w, int out_r, int err_r, int master);

/* exec.c */
__attribute__((noreturn)) void exec_main(bool spare);
void reexec_sealed(char **argv, bool plan_in_memory);

/* portforward.c: skiff-shim port-forward NETNS PORT */
int portforward_main(int argc, char **argv);

#endif
