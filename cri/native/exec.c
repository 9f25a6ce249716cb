/*
 * skiff-shim exec: run one more process in a running container (stages in main.c).
 * The shim first re-executes itself from a sealed memfd copy, so a container process
 * that reaches /proc/<pid>/exe of the joining process finds a file no one can write
 * (CVE-2019-5736). The process inherits the shim's fds 0-2, or gets a pty whose master
 * the shim relays to its own stdin/stdout (resize through the plan's ctl_fifo), or sends
 * to the plan's console socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

void reexec_sealed(char **argv, bool plan_in_memory)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die("reexec", "open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_WRITE)) {
		close(self);
		return;
	}
	struct stat st;
	int m = memfd_create("skiff-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0 || fstat(self, &st) < 0)
		die("reexec", "memfd");
	for (off_t off = 0; off < st.st_size;)
		if (sendfile(m, self, &off, st.st_size - off) <= 0)
			die("reexec", "copy binary");
	close(self);
	if (fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		die("reexec", "seal memfd");
	if (plan_in_memory) {
		int p = memfd_create("skiff-plan", 0);
		if (p < 0)
			die("reexec", "plan memfd");
		write_all(p, plan.buf, plan.len);
		lseek(p, 0, SEEK_SET);
		if (p != 3 && (dup2(p, 3) < 0 || close(p) < 0))
			die("reexec", "plan fd");
	}
	fexecve(m, argv, environ);
	die("reexec", "fexecve");
}

/* Applies the resize commands ("w ROWS COLS") waiting on the ctl fifo. */
static void ctl_commands(int ctl, int master)
{
	char buf[256];
	ssize_t r = read(ctl, buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = 0;
	for (char *line = buf, *end; *line; line = end + 1) {
		unsigned rows, cols;
		if (sscanf(line, "w %u %u", &rows, &cols) == 2)
			ioctl(master, TIOCSWINSZ, &(struct winsize){.ws_row = rows, .ws_col = cols});
		if (!(end = strchr(line, '\n')))
			break;
	}
}

static void relay(int master, int ctl, pid_t pid, int *status)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int in = 0;
	bool exited = false;
	char buf[4096];
	while (master >= 0) {
		struct pollfd p[4] = {{sfd, POLLIN, 0}, {in, POLLIN, 0}, {master, POLLIN, 0}, {ctl, POLLIN, 0}};
		if (exited)
			fcntl(master, F_SETFL, O_NONBLOCK);
		else if (poll(p, 4, -1) < 0)
			continue;
		if (p[0].revents || exited) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			if (!exited && waitpid(pid, status, WNOHANG) == pid)
				exited = true;
		}
		if (p[1].revents) {
			ssize_t r = read(in, buf, sizeof buf);
			if (r <= 0)
				in = -1;
			else
				write_all(master, buf, r);
		}
		if (p[2].revents || exited) {
			ssize_t r = read(master, buf, sizeof buf);
			if (r > 0)
				write_all(1, buf, r);
			else if (r == 0 || errno != EINTR)
				close(master), master = -1;
		}
		if (p[3].revents)
			ctl_commands(ctl, master);
	}
	if (!exited)
		waitpid(pid, status, 0);
}

static volatile pid_t exec_pid;

/* SIGTERM to the exec shim (ExecSync's timeout, a dropped stream): SIGKILL its process,
 * which the shim then reaps and reports; killing the shim itself would leave the
 * process a zombie of the container's init. */
static void kill_process(int sig)
{
	(void)sig;
	if (exec_pid > 0)
		kill(exec_pid, SIGKILL);
}

void exec_main(bool spare)
{
	plan_read(3);
	if (spare) {
		/* Parked ahead of its exec: the cgroups are joined now (a cgroup1 move can wait
		 * for an RCU grace period), the exec's own plan comes on fd 5 when it is asked
		 * for, and its process inherits the cgroups. */
		place_cgroups(getpid(), false);
		plan_free();
		plan_read(5);
	}
	join_pidns();
	bool tty = plan_has(K_TERMINAL);
	int master = -1, slave = -1, sp[2];
	if (tty)
		master = open_pty(&slave);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		die("exec", "socketpair");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int cg = spare ? -1 : open_cgroup2();
	bool placed;
	pid_t pid = clone_into(0, cg, &placed);
	if (pid < 0)
		die("clone", "clone3");
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		close(sp[0]);
		report_fd = sp[1];
		report_mode = REPORT_SYNC;
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		wait_byte(sp[1], 'g');
		seccomp_prepare();
		join_namespaces(true);
		if (setsid() < 0)
			die("stdio", "setsid");
		if (tty && (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
			die("tty", "set up");
		apply_limits();
		finish_and_exec(sp[1], false);
	}
	close(sp[1]);
	exec_pid = pid;
	struct sigaction term = {.sa_handler = kill_process};
	sigaction(SIGTERM, &term, NULL);
	if (slave >= 0)
		close(slave);
	if (cg >= 0)
		close(cg);
	if (!spare)
		place_cgroups(pid, placed);
	/* A terminal size the client sent before the start is in force when the program runs. */
	const char *ctlpath = plan_str(K_CTL_FIFO, 0);
	int ctl = master >= 0 && ctlpath ? open(ctlpath, O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
	if (ctl >= 0)
		ctl_commands(ctl, master);
	if (send(sp[0], "g", 1, MSG_NOSIGNAL) != 1)
		die("exec", "sync");
	char m[1100];
	ssize_t r = recv(sp[0], m, sizeof m - 1, 0);
	int st = 0;
	if (r > 1 && m[0] == 'E') {
		waitpid(pid, &st, 0);
		m[r] = 0;
		dprintf(report_fd, "error %s\n", m + 1);
		_exit(1);
	}
	dprintf(report_fd, "pid %d\n", pid);
	if (master >= 0)
		relay(master, ctl, pid, &st);
	else
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0, code = sig ? 128 + sig : WEXITSTATUS(st);
	dprintf(report_fd, "exit %d %d\n", code, sig);
	_exit(code);
}
