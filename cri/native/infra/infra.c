/*
 * skiff-infra: a pod's infra process, Skiff's stand-in for the pause image. It runs as
 * the sandbox container's process, holding the pod's namespaces (net, ipc, uts, and pid
 * when the pod shares one) for as long as the pod lives. When it is pid 1 of a shared
 * pid namespace it reaps every orphan that is re-parented to it.
 *
 * Stages: block every signal; then wait for signals forever: SIGCHLD reaps all exited
 * children, SIGTERM/SIGINT/SIGQUIT end it with status 0, anything else is ignored.
 *
 * One runs per pod, so its memory counts: on x86_64 it is built freestanding (no libc,
 * see the Makefile): its own _start and four raw system calls, one page of code and
 * a page or two of stack, PSS ~12 KiB (glibc static: ~690 KiB, mostly libc's code).
 * Elsewhere the same loop runs over libc's calls (built -static).
 */
#if __STDC_HOSTED__
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

static sigset_t all;

static long block_all(void)
{
	sigfillset(&all);
	return sigprocmask(SIG_BLOCK, &all, NULL);
}

/* The next pending signal's number, or -1. */
static long next_signal(void)
{
	int sig;
	return sigwait(&all, &sig) == 0 ? sig : -1;
}

static long reap_one(void)
{
	return waitpid(-1, NULL, WNOHANG);
}
#else
#if !defined(__x86_64__)
#error "freestanding skiff-infra is x86_64 only: build it hosted (the Makefile does elsewhere)"
#endif
#include <asm/signal.h> /* SIG*, SIG_BLOCK: the kernel's own */
#include <asm/unistd.h> /* __NR_* */
#include <linux/wait.h> /* WNOHANG */

/* A raw system call: result, or -errno. */
static long sys(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The kernel's sigset: 64 bits, one per signal. */
static const unsigned long all = ~0UL;

static long block_all(void)
{
	return sys(__NR_rt_sigprocmask, SIG_BLOCK, (long)&all, 0, sizeof all);
}

/* The next pending signal's number (no timeout), or -errno. */
static long next_signal(void)
{
	return sys(__NR_rt_sigtimedwait, (long)&all, 0, 0, sizeof all);
}

static long reap_one(void)
{
	return sys(__NR_wait4, -1, 0, WNOHANG, 0);
}
#endif

static int infra(void)
{
	if (block_all() < 0)
		return 1;
	for (;;) {
		switch (next_signal()) {
		case SIGCHLD:
			while (reap_one() > 0)
				;
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			return 0;
		default: /* another signal, or an interrupted wait */
			break;
		}
	}
}

#if __STDC_HOSTED__
int main(void)
{
	return infra();
}
#else
/* Called from _start (below) with the stack 16-byte aligned as the ABI wants at a call. */
__attribute__((noreturn, used)) void infra_start(void)
{
	sys(__NR_exit_group, infra(), 0, 0, 0);
	__builtin_unreachable();
}

/* The entry point: no argc/argv/environment wanted, so just align the stack and call. */
__asm__(".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call infra_start\n"
	"	hlt\n");
#endif
