/*
 * skiff-shim monitor: the container's parent for its whole life (one per container).
 * Owns the container's stdio pipes or pty master (none when the master went to a
 * console socket); writes the CRI log format
 *   <RFC3339Nano> <stdout|stderr> <P|F> <bytes>\n
 * with F for a record that ends a line and P for a piece of a longer line (a read that
 * ended mid-line, or log_max_line bytes without a newline); nothing is buffered across
 * reads. Commands on the ctl fifo (lines): "s" start, "r" reopen the log, "w ROWS COLS"
 * resize the tty. On exit, state_dir/exit is written by rename (see main.c).
 *
 * ATTACH socket (state_dir/attach, unix stream, at most 8 clients): frames of
 *   [type u8][length u32 big-endian][payload <= 4096]
 * client -> monitor: 0 stdin data, 3 close stdin, 4 resize (rows u16 BE, cols u16 BE);
 * monitor -> client: 1 stdout, 2 stderr (a tty's output is stdout). A client that
 * cannot take a whole frame without blocking is disconnected; stdin writes block.
 *
 * Memory: the plan is unmapped once the container exists; buffers are allocated when
 * used (the log record buffer on first output, client buffers on connect).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#define MAX_CLIENTS 8
#define FRAME_MAX 4096
enum { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_CLOSE_STDIN = 3, F_RESIZE = 4 };

struct client {
	int fd;
	uint32_t have;
	unsigned char buf[5 + FRAME_MAX];
};

static struct client *clients[MAX_CLIENTS];
static int logfd = -1, in_w = -1, master = -1, sync_fd = -1;
static char *logpath, *oompath, *rec;
static size_t maxline = 16384;
static long long oom_before = -1;
static char exec_error[512];

static void emit(const char *stream, char tag, const char *p, size_t n)
{
	if (logfd < 0)
		return;
	if (!rec && !(rec = malloc(maxline + 64)))
		return;
	rfc3339nano(rec);
	size_t h = strlen(rec);
	h += snprintf(rec + h, 64 - 40, " %s %c ", stream, tag);
	memcpy(rec + h, p, n);
	rec[h + n] = '\n';
	write_all(logfd, rec, h + n + 1);
}

static void log_chunk(const char *stream, const char *p, size_t n)
{
	while (n) {
		size_t take = n < maxline ? n : maxline;
		const char *nl = memchr(p, '\n', take);
		if (nl) {
			emit(stream, 'F', p, nl - p);
			n -= nl - p + 1, p = nl + 1;
		} else {
			emit(stream, 'P', p, take);
			n -= take, p += take;
		}
	}
}

static void drop_client(int i)
{
	close(clients[i]->fd);
	free(clients[i]);
	clients[i] = NULL;
}

static void fanout(int type, const char *p, size_t n)
{
	unsigned char h[5] = {type, n >> 24, n >> 16, n >> 8, n};
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (!clients[i])
			continue;
		struct iovec v[2] = {{h, 5}, {(void *)p, n}};
		if (writev(clients[i]->fd, v, 2) != (ssize_t)(n + 5))
			drop_client(i);
	}
}

/* Returns false at EOF/error (the fd is closed then). */
static bool pump(int *fd, int type)
{
	char buf[FRAME_MAX];
	ssize_t r = read(*fd, buf, sizeof buf);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (r <= 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	log_chunk(type == F_STDERR ? "stderr" : "stdout", buf, r);
	fanout(type, buf, r);
	return true;
}

static void reopen_log(void)
{
	if (!logpath)
		return;
	if (logfd >= 0)
		close(logfd);
	logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static void resize(unsigned rows, unsigned cols)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	if (master >= 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

static void stdin_data(const unsigned char *p, size_t n)
{
	if (in_w >= 0)
		write_all(in_w, p, n);
}

static void ctl_command(int ctl)
{
	char buf[256];
	ssize_t r = read(ctl, buf, sizeof buf - 1);
	if (r <= 0)
		return;
	buf[r] = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned rows, cols;
		if (line[0] == 's' && sync_fd >= 0)
			send(sync_fd, "S", 1, MSG_NOSIGNAL);
		else if (line[0] == 'r')
			reopen_log();
		else if (sscanf(line, "w %u %u", &rows, &cols) == 2)
			resize(rows, cols);
	}
}

static void client_read(int i)
{
	struct client *c = clients[i];
	ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
	if (r <= 0) {
		if (r == 0 || (errno != EINTR && errno != EAGAIN))
			drop_client(i);
		return;
	}
	c->have += r;
	while (c->have >= 5) {
		uint32_t len = (uint32_t)c->buf[1] << 24 | c->buf[2] << 16 | c->buf[3] << 8 | c->buf[4];
		if (len > FRAME_MAX) {
			drop_client(i);
			return;
		}
		if (c->have < 5 + len)
			break;
		unsigned char *p = c->buf + 5;
		if (c->buf[0] == F_STDIN)
			stdin_data(p, len);
		else if (c->buf[0] == F_CLOSE_STDIN && in_w >= 0 && in_w != master)
			close(in_w), in_w = -1;
		else if (c->buf[0] == F_RESIZE && len == 4)
			resize(p[0] << 8 | p[1], p[2] << 8 | p[3]);
		c->have -= 5 + len;
		memmove(c->buf, c->buf + 5 + len, c->have);
	}
}

static long long oom_count(void)
{
	char buf[512];
	if (!oompath)
		return -1;
	int fd = open(oompath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	char *p = strstr(buf, "oom_kill ");
	return p ? atoll(p + 9) : -1;
}

/* Attach clients get an end of file, then up to 2 s to close their side while what they
 * send is read and dropped: closing at once would answer a client's late write (its
 * stdin) with EPIPE, and a client may drop the output it has not read yet on that. */
static void linger_for_clients(void)
{
	struct pollfd p[MAX_CLIENTS];
	int m = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] && shutdown(clients[i]->fd, SHUT_WR) == 0)
			p[m++] = (struct pollfd){clients[i]->fd, POLLIN, 0};
	for (unsigned long long end = now_ns() + 2000000000ULL; m > 0 && now_ns() < end;) {
		if (poll(p, m, 100) <= 0)
			continue;
		for (int i = 0; i < m; i++) {
			char b[FRAME_MAX];
			ssize_t r = p[i].revents ? read(p[i].fd, b, sizeof b) : 1;
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				p[i--] = p[--m];
		}
	}
}

static __attribute__((noreturn)) void finish(int st)
{
	int code = 0, sig = 0;
	if (WIFSIGNALED(st))
		sig = WTERMSIG(st), code = 128 + sig;
	else
		code = WEXITSTATUS(st);
	long long oom = oom_count();
	char buf[800];
	int n = snprintf(buf, sizeof buf, "code %d\nsignal %d\ntime_ns %llu\noom_killed %d\n", code, sig,
			 (unsigned long long)now_ns(), oom_before >= 0 && oom > oom_before);
	if (exec_error[0])
		n += snprintf(buf + n, sizeof buf - n, "error %s\n", exec_error);
	write_atomic("exit", buf, n);
	linger_for_clients();
	_exit(0);
}

static int listen_attach(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "attach"};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink("attach");
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || chmod("attach", 0600) < 0 || listen(s, 8) < 0)
		die("monitor", "attach socket");
	return s;
}

void monitor_run(pid_t pid, int sync, int in, int out, int err, int pty)
{
	sync_fd = sync, in_w = pty >= 0 ? pty : in, master = pty;
	if (pty >= 0)
		out = pty;
	const char *s;
	if ((s = plan_str(K_LOG_PATH, 0)))
		logpath = strdup(s);
	if ((s = plan_str(K_OOM_EVENTS, 0)))
		oompath = strdup(s);
	if ((s = plan_str(K_LOG_MAX_LINE, 0)))
		maxline = num("monitor", s, 64, 1 << 20);
	plan_free();
	reopen_log();
	if (logpath && logfd < 0)
		die("monitor", "open log %s", logpath);
	oom_before = oom_count();
	int ctl = open("ctl", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int lsn = listen_attach();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ctl < 0 || sfd < 0)
		die("monitor", "ctl fifo or signalfd");
	report_created(report_fd, pid);
	report_fd = 2;

	int status = 0;
	bool exited = false;
	for (;;) {
		struct pollfd p[6 + MAX_CLIENTS];
		int n = 0;
		p[n++] = (struct pollfd){sfd, POLLIN, 0};
		p[n++] = (struct pollfd){ctl, POLLIN, 0};
		p[n++] = (struct pollfd){lsn, POLLIN, 0};
		p[n++] = (struct pollfd){sync_fd, POLLIN, 0};
		p[n++] = (struct pollfd){out, POLLIN, 0};
		p[n++] = (struct pollfd){pty >= 0 ? -1 : err, POLLIN, 0};
		for (int i = 0; i < MAX_CLIENTS; i++)
			p[n++] = (struct pollfd){clients[i] ? clients[i]->fd : -1, POLLIN, 0};
		if (exited) {
			/* drain what is already buffered, then record the exit */
			if (out >= 0)
				fcntl(out, F_SETFL, O_NONBLOCK);
			if (err >= 0)
				fcntl(err, F_SETFL, O_NONBLOCK);
			while (out >= 0 && pump(&out, F_STDOUT))
				;
			while (pty < 0 && err >= 0 && pump(&err, F_STDERR))
				;
			finish(status);
		}
		if (poll(p, n, -1) < 0)
			continue;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == pid)
					status = st, exited = true;
		}
		if (p[1].revents)
			ctl_command(ctl);
		if (p[2].revents) {
			int c = accept4(lsn, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int i = 0;
			while (i < MAX_CLIENTS && clients[i])
				i++;
			if (c >= 0 && (i == MAX_CLIENTS || !(clients[i] = calloc(1, sizeof(struct client)))))
				close(c);
			else if (c >= 0)
				clients[i]->fd = c;
		}
		if (p[3].revents) {
			char m[512];
			ssize_t r = recv(sync_fd, m, sizeof m - 1, MSG_DONTWAIT);
			if (r > 1 && m[0] == 'E') {
				m[r] = 0;
				snprintf(exec_error, sizeof exec_error, "%s", m + 1);
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				close(sync_fd);
				sync_fd = -1;
			}
		}
		if (p[4].revents)
			pump(&out, F_STDOUT);
		if (p[5].revents)
			pump(&err, F_STDERR);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (p[6 + i].revents && clients[i])
				client_read(i);
	}
}
