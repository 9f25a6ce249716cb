/*
 * skiff-infra: a pod's infra process, Skiff's stand-in for the pause image. It runs as
 * the sandbox container's process, holding the pod's namespaces (net, ipc, uts, and pid
 * when the pod shares one) for as long as the pod lives. When it is pid 1 of a shared
 * pid namespace it reaps every orphan that is re-parented to it.
 *
 * Stages: block every signal; then wait for signals forever: SIGCHLD reaps all exited
 * children, SIGTERM/SIGINT/SIGQUIT end it with status 0, anything else is ignored.
 * Built static (no shared libraries), so its rootfs is this one file and its memory
 * is a few pages.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	sigset_t all;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, NULL) < 0)
		return 1;
	for (;;) {
		int sig;
		if (sigwait(&all, &sig) != 0)
			continue;
		switch (sig) {
		case SIGCHLD:
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			return 0;
		default:
			break;
		}
	}
}
