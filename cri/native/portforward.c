/*
 * skiff-shim port-forward NETNS_PATH PORT (NETNS_PATH "-": stay in the current netns):
 * the native half of CRI PortForward. Node cannot enter a network namespace, so this
 * mode does, connects, and hands the connected socket to the daemon, which relays it
 * itself (a socket stays in the namespace it was made in). No bytes of the connection
 * pass through this process; all policy (which sandbox, which netns, what to tell the
 * client) stays in TS (cri/src/streaming/portforward-helper.ts).
 *
 * STAGES
 *   args     NETNS_PATH must open, PORT must be 1..65535
 *   channel  NODE_CHANNEL_FD: the Node IPC channel the daemon spawned this with
 *            (child_process stdio "ipc", JSON serialization)
 *   setns    setns(fd, CLONE_NEWNET) on the calling (single) thread
 *   connect  127.0.0.1:PORT, then [::1]:PORT
 *   handover one message on the channel in Node's handle-passing format, the socket
 *            attached with SCM_RIGHTS, then exit:
 *              {"cmd":"NODE_HANDLE","type":"net.Native","msg":{"port":PORT}}\n
 *            the daemon's 'message' event gets (msg, TCP handle). Node's
 *            NODE_HANDLE_ACK answer is not waited for.
 *
 * EXIT CODES  0 handed over; 1 usage, channel or setns failure; 2 nothing accepted the
 *   connection (stderr: "failed to connect to localhost:PORT inside namespace NETNS,
 *   IPv4: ... IPv6: ..."); 3 handover failed. Messages go to stderr, one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int portforward_main(int argc, char **argv);

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

/* The Node IPC channel's fd, or -1 (with a message) when there is none we can use. */
static int pf_channel(void)
{
	const char *fd_s = getenv("NODE_CHANNEL_FD");
	const char *mode = getenv("NODE_CHANNEL_SERIALIZATION_MODE");
	char *end = NULL;
	long fd = fd_s ? strtol(fd_s, &end, 10) : -1;
	if (!fd_s || !end || *end != '\0' || fd < 0 || fcntl((int)fd, F_GETFD) < 0) {
		fprintf(stderr, "channel: no Node IPC channel (NODE_CHANNEL_FD)\n");
		return -1;
	}
	if (mode && strcmp(mode, "json") != 0) {
		fprintf(stderr, "channel: serialization %s, want json\n", mode);
		return -1;
	}
	return (int)fd;
}

static int pf_handover(int channel, int sock, long port)
{
	char line[96];
	int n = snprintf(line, sizeof(line),
			 "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":{\"port\":%ld}}\n", port);
	struct iovec iov = { .iov_base = line, .iov_len = (size_t)n };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sock, sizeof(int));
	ssize_t w;
	do
		w = sendmsg(channel, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)n) {
		fprintf(stderr, "handover: sendmsg: %s\n", w < 0 ? strerror(errno) : "short write");
		return -1;
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
	int channel = pf_channel();
	if (channel < 0)
		return 1;

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
	/* Interactive traffic (first bytes, small answers) is not held back by Nagle. */
	int one = 1;
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (pf_handover(channel, sock, port) < 0)
		return 3;
	close(sock);
	close(channel);
	return 0;
}
