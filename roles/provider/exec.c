/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "exec.h"

#include "../../lib/clock.h"
#include "../../lib/fsutil.h"
#include "../../lib/landlock.h"
#include "../../lib/memcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Smallest body pipe: one page (the kernel's floor for F_SETPIPE_SZ). */
#define EXEC_PIPE_MIN 4096

/* The Landlock ruleset every program enters before execve (fd), -1 for
 * none (the kernel has no Landlock, or the audit's test-only weakening),
 * EXEC_DOMAIN_UNSET until exec_domain_prepare ran: exec_start refuses to
 * start anything then, so no program can run outside its domain by
 * omission. A provider has one such domain for all its programs. */
#define EXEC_DOMAIN_UNSET (-2)
static int program_domain = EXEC_DOMAIN_UNSET;

int exec_domain_prepare(const struct landlock_rule *rules, size_t n, bool weaken_none, char *err, size_t errlen)
{
	if (program_domain >= 0)
		close(program_domain);
	program_domain = -1;
	if (weaken_none || MEMCHECK_BUILD)
		return 0; /* valgrind has no landlock_* calls (memcheck.h) */
	int fd;
	int rc = landlock_ruleset_open(rules, n, &fd, NULL, err, errlen);
	if (rc < 0) {
		program_domain = EXEC_DOMAIN_UNSET;
		return -1;
	}
	program_domain = fd; /* -1 when the kernel has no Landlock (rc 1): neither has the provider */
	return 0;
}

int exec_domain_enter(void)
{
	if (program_domain == EXEC_DOMAIN_UNSET) {
		errno = EPERM;
		return -1;
	}
	return program_domain < 0 ? 0 : landlock_enter(program_domain);
}


/* The body through a pipe made big enough to hold it whole and written
 * before the program starts: the provider never blocks on a program that
 * does not drain its stdin, and no file is made whose bytes could later be
 * mapped executable (a memfd could: MFD_NOEXEC_SEAL only stops execve of
 * it, not mmap(PROT_EXEC), so provider-exec.policy has no memfd_create).
 * F_SETPIPE_SZ rounds up to a power of two pages; a body of up to
 * WIRE_BODY_MAX (1 MiB, the default pipe-max-size) fits. Returns the read
 * end, or -1 with errno set (EMSGSIZE if the kernel gave less room). */
static int body_fd(const uint8_t *body, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	int room = fcntl(p[1], F_SETPIPE_SZ, len > EXEC_PIPE_MIN ? (int)len : EXEC_PIPE_MIN);
	int saved = room < 0 ? errno : EMSGSIZE;
	bool whole = room >= 0 && (size_t)room >= len;
	if (whole && fs_write_all(p[1], body, len) < 0) {
		saved = errno;
		whole = false;
	}
	close(p[1]);
	if (!whole) {
		close(p[0]);
		errno = saved;
		return -1;
	}
	return p[0];
}

/* In the child: its own Landlock domain (exec_domain_enter), stdin,
 * stdout, stderr in place, nothing else open, the provider's blocked
 * signals unblocked, then execve. Only async-signal-safe
 * calls between fork and exec. */
static _Noreturn void child_exec(int in_fd, int out_fd, char *const argv[], char *const envp[])
{
	sigset_t none;
	sigemptyset(&none);
	if (exec_domain_enter() < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0 ||
	    syscall(SYS_close_range, 3U, ~0U, 0) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, envp);
	_exit(127);
}

int exec_start(struct exec_run *r, char *const argv[], char *const envp[], const uint8_t *body, size_t body_len,
	       uint32_t timeout_ms, size_t log_cap)
{
	int pipefd[2];
	memset(r, 0, sizeof(*r));
	r->pidfd = r->out_fd = -1;
	if (program_domain == EXEC_DOMAIN_UNSET) {
		errno = EPERM;
		return -1;
	}
	int in_fd = body_fd(body, body_len);
	if (in_fd < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(in_fd);
		return -1;
	}
	r->log = malloc(log_cap ? log_cap : 1);
	/* A fork that returns the child's pidfd with it (CLONE_PIDFD): nothing
	 * to look up afterwards, and valgrind, which has no pidfd_open, can
	 * follow it. The provider has no threads, so glibc's fork bookkeeping
	 * has nothing to do here; the child only dups, closes and execs. */
	int pidfd = -1;
	pid_t pid = r->log ? (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PIDFD | SIGCHLD), NULL, &pidfd, NULL, 0UL)
			   : -1;
	if (pid == 0)
		child_exec(in_fd, pipefd[1], argv, envp);
	int saved = errno;
	close(in_fd);
	close(pipefd[1]);
	r->out_fd = pipefd[0];
	if (pid < 0) {
		exec_release(r);
		errno = saved;
		return -1;
	}
	r->pid = pid;
	r->pidfd = pidfd;
	r->log_cap = log_cap;
	r->deadline_ms = clock_mono_ms() + timeout_ms;
	if (r->pidfd < 0 || fcntl(r->out_fd, F_SETFL, O_NONBLOCK) < 0) {
		saved = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r->pid = 0;
		exec_release(r);
		errno = saved;
		return -1;
	}
	return 0;
}

void exec_read_output(struct exec_run *r)
{
	char buf[4096];
	ssize_t n;
	while (r->out_fd >= 0) {
		n = read(r->out_fd, buf, sizeof(buf));
		if (n == 0) { /* the program closed its output: stop watching it */
			close(r->out_fd);
			r->out_fd = -1;
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: nothing more for now */
		}
		size_t room = r->log_cap - r->log_len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		memcpy(r->log + r->log_len, buf, take);
		r->log_len += take;
		r->dropped += (size_t)n - take;
	}
}

bool exec_enforce_deadline(struct exec_run *r, uint64_t now_ms)
{
	if (r->timed_out || now_ms < r->deadline_ms)
		return false;
	r->timed_out = true;
	/* kill(2) where pidfd_send_signal is ENOSYS (valgrind): as exact, the
	 * child is reaped only after its pidfd reported the exit. */
	if (syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0) < 0 && errno == ENOSYS)
		kill(r->pid, SIGKILL);
	return true;
}

bool exec_reap(struct exec_run *r, int *status)
{
	siginfo_t si = { 0 };
	if (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return false;
	*status = si.si_code == CLD_EXITED ? si.si_status : EXEC_STATUS_SIGNALED + si.si_status;
	r->pid = 0;
	exec_read_output(r);
	return true;
}

int exec_wait(struct exec_run *r)
{
	int status;
	for (;;) {
		if (exec_reap(r, &status))
			return status;
		uint64_t now = clock_mono_ms();
		exec_enforce_deadline(r, now);
		struct pollfd pfd[2] = { { .fd = r->pidfd, .events = POLLIN }, { .fd = r->out_fd, .events = POLLIN } };
		int wait_ms = r->timed_out ? -1 : (int)(r->deadline_ms - now);
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			wait_ms = 0;
		exec_read_output(r);
	}
}

void exec_release(struct exec_run *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->out_fd >= 0)
		close(r->out_fd);
	free(r->log);
	memset(r, 0, sizeof(*r));
	r->pidfd = r->out_fd = -1;
}
