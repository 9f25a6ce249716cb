/*
 * skiff-shim port-forward NETNS_PATH PORT (NETNS_PATH "-": stay in the current netns):
 * the native half of CRI PortForward. Node cannot enter a network namespace, so this
 * mode does, then relays bytes; all policy (which sandbox, which netns, what to tell
 * the client) stays in TS
 * (cri/src/streaming/portforward-helper.ts).
 *
 * STAGES
 *   args     NETNS_PATH must open, PORT must be 1..65535
 *   setns    setns(fd, CLONE_NEWNET) on the calling (single) thread
 *   connect  127.0.0.1:PORT, then [::1]:PORT
 *   relay    poll() loop, one 64 KiB buffer per direction:
 *              stdin  -> socket; stdin EOF  => shutdown(socket, SHUT_WR)
 *              socket -> stdout; socket EOF => close(stdout)
 *            ends when both directions are done; once the socket side has ended, the
 *            client side gets at most one second more (as socat does), since some
 *            clients cannot half-close.
 *
 * EXIT CODES  0 relayed to the end; 1 usage or setns failure; 2 nothing accepted the
 *   connection (stderr: "failed to connect to localhost:PORT inside namespace NETNS,
 *   IPv4: ... IPv6: ..."); 3 relay I/O error. Messages go to stderr, one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int portforward_main(int argc, char **argv);

#define PF_BUF (64 * 1024)

struct pf_dir {
	int in, out;
	char buf[PF_BUF];
	size_t off, len;
	int eof;  /* source reached EOF */
	int done; /* EOF seen and everything written; destination closed */
};

static int pf_connect(int family, int port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((unsigned short)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((unsigned short)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "dial %s %s:%d: connect: %s", family == AF_INET ? "tcp4" : "tcp6",
			 family == AF_INET ? "127.0.0.1" : "[::1]", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static long pf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One step of a direction after poll said it may proceed. Returns -1 on I/O error. */
static int pf_step(struct pf_dir *d, short rev_in, short rev_out, int out_is_sock)
{
	if (d->len == 0 && !d->eof && (rev_in & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(d->in, d->buf, sizeof(d->buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				return 0;
			if (errno != ECONNRESET)
				return -1;
			n = 0;
		}
		if (n == 0)
			d->eof = 1;
		else {
			d->off = 0;
			d->len = (size_t)n;
		}
	}
	if (d->len > 0 && (rev_out & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = write(d->out, d->buf + d->off, d->len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				return 0;
			if (errno != EPIPE && errno != ECONNRESET)
				return -1;
			d->len = 0;
			d->eof = 1; /* the reader went away: nothing more to deliver */
		} else {
			d->off += (size_t)n;
			d->len -= (size_t)n;
		}
	}
	if (d->eof && d->len == 0 && !d->done) {
		d->done = 1;
		if (out_is_sock)
			shutdown(d->out, SHUT_WR);
		else
			close(d->out);
	}
	return 0;
}

int portforward_main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: skiff-shim port-forward NETNS_PATH PORT\n");
		return 1;
	}
	const char *netns = argv[1];
	char *end = NULL;
	long port = strtol(argv[2], &end, 10);
	if (!end || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "args: invalid port %s\n", argv[2]);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(netns, "-") != 0) {
		int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0) {
			fprintf(stderr, "setns: open %s: %s\n", netns, strerror(errno));
			return 1;
		}
		if (setns(nsfd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "setns: %s: %s\n", netns, strerror(errno));
			close(nsfd);
			return 1;
		}
		close(nsfd);
	}

	char e4[256], e6[256];
	int sock = pf_connect(AF_INET, (int)port, e4, sizeof(e4));
	if (sock < 0) {
		sock = pf_connect(AF_INET6, (int)port, e6, sizeof(e6));
		if (sock < 0) {
			fprintf(stderr, "failed to connect to localhost:%ld inside namespace %s, IPv4: %s IPv6: %s\n",
				port, netns, e4, e6);
			return 2;
		}
	}

	static struct pf_dir up, down; /* up: stdin -> socket, down: socket -> stdout */
	up.in = STDIN_FILENO;
	up.out = sock;
	down.in = sock;
	down.out = STDOUT_FILENO;
	long down_done_at = -1;

	while (!(up.done && down.done)) {
		struct pollfd p[4];
		int n = 0, iu = -1, ou = -1, id = -1, od = -1;
		if (!up.done) {
			if (up.len == 0 && !up.eof) {
				p[n] = (struct pollfd){ .fd = up.in, .events = POLLIN };
				iu = n++;
			} else if (up.len > 0) {
				p[n] = (struct pollfd){ .fd = up.out, .events = POLLOUT };
				ou = n++;
			}
		}
		if (!down.done) {
			if (down.len == 0 && !down.eof) {
				p[n] = (struct pollfd){ .fd = down.in, .events = POLLIN };
				id = n++;
			} else if (down.len > 0) {
				p[n] = (struct pollfd){ .fd = down.out, .events = POLLOUT };
				od = n++;
			}
		}
		int timeout = -1;
		if (down.done) {
			long left = 1000 - (pf_now_ms() - down_done_at);
			if (left <= 0)
				break;
			timeout = (int)left;
		}
		if (n > 0 && poll(p, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "relay: poll: %s\n", strerror(errno));
			return 3;
		}
		/* A direction that reached EOF with nothing buffered finishes without poll. */
		if (pf_step(&up, iu >= 0 ? p[iu].revents : 0, ou >= 0 ? p[ou].revents : 0, 1) < 0 ||
		    pf_step(&down, id >= 0 ? p[id].revents : 0, od >= 0 ? p[od].revents : 0, 0) < 0) {
			fprintf(stderr, "relay: %s\n", strerror(errno));
			return 3;
		}
		if (down.done && down_done_at < 0)
			down_done_at = pf_now_ms();
	}
	close(sock);
	return 0;
}
