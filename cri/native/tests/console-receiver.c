/* Test receiver for `skiff-oci --console-socket` (the role of runc's recvtty):
 *   console-receiver SOCKET SEND EXPECT [drain]
 * listens on the unix stream socket SOCKET (prints "listening"), takes one connection,
 * receives one fd by SCM_RIGHTS and prints "name <payload>", writes SEND into the fd and
 * copies what it reads to stdout until EXPECT shows up; with "drain", reads on until
 * EOF/EIO (the terminal's last user closed it). Exits 0 once EXPECT was seen, 1 else;
 * SIGALRM after 20 s. Built by e2e/oci/console-socket.test.ts. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	alarm(20);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0)
		return perror("listen"), 1;
	printf("listening\n");
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	char name[4096] = {0}, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec v = {name, sizeof name - 1};
	struct msghdr h = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (c < 0 || recvmsg(c, &h, 0) < 0)
		return perror("recvmsg"), 1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&h);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return fprintf(stderr, "no fd received\n"), 1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	printf("name %s\n", name);
	fflush(stdout);
	if (write(fd, argv[2], strlen(argv[2])) < 0)
		return perror("write"), 1;
	char seen[65536];
	size_t n = 0;
	int found = 0;
	for (ssize_t r; (r = read(fd, seen + n, sizeof seen - 1 - n)) > 0;) {
		(void)!write(1, seen + n, r);
		n += r;
		seen[n] = 0;
		found = found || strstr(seen, argv[3]) != NULL;
		if ((found && (argc < 5 || strcmp(argv[4], "drain") != 0)) || n == sizeof seen - 1)
			break;
	}
	return found ? 0 : 1;
}
