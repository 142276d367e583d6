/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on other processes and its own children: another role's
 * sandbox signalled, traced, read or opened by pidfd; forks, up to the
 * fork bomb the host must not feel. Raw syscalls, as every probe
 * (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int act_kill(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kill, e->victim_pid, SIGKILL));
}

int act_ptrace(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ptrace, PTRACE_ATTACH, e->victim_pid, 0L, 0L));
}

int act_process_vm_readv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };
	return errno_or_zero(syscall(SYS_process_vm_readv, e->victim_pid, &local, 1UL, &remote, 1UL, 0UL));
}

int act_pidfd_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pidfd_open, e->victim_pid, 0U));
}

int act_fork(const struct probe_def *d, const struct probe_env *e)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

static void hold_for_host(const struct probe_env *e, uint32_t value)
{
	unsigned char rec[5] = { PROBE_STATUS_HOLDING, (unsigned char)value, (unsigned char)(value >> 8),
				 (unsigned char)(value >> 16), (unsigned char)(value >> 24) };
	struct timespec t = { .tv_sec = PROBE_HOLD_MS / 1000, .tv_nsec = (PROBE_HOLD_MS % 1000) * 1000000L };
	if (syscall(SYS_write, e->status_fd, rec, sizeof(rec)) == (long)sizeof(rec))
		syscall(SYS_nanosleep, &t, NULL);
}

/* Forks children that block on a pipe until clone fails, holds them while
 * the host looks, then releases and reaps them. Holds if the fork stopped
 * with EAGAIN at the topology's RLIMIT_NPROC: it reads its own limit, and
 * it plus its children reach that limit minus at most 2 (other processes
 * of the same host uid, e.g. the audit's live sandbox of this provider). */
int act_fork_bomb(const struct probe_def *d, const struct probe_env *e)
{
	struct rlimit lim;
	int gate[2];
	long children = 0, rc;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NPROC, NULL, &lim) < 0 || syscall(SYS_pipe2, gate, O_CLOEXEC) < 0)
		return errno;
	if (e->nproc == 0 || lim.rlim_cur != e->nproc)
		return PROBE_EXIT_DATA;
	while (children < 100000) {
		rc = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
		if (rc == 0) {
			char c;
			syscall(SYS_close, gate[1]);
			syscall(SYS_read, gate[0], &c, 1UL);
			syscall(SYS_exit_group, 0);
		}
		if (rc < 0)
			break;
		children++;
	}
	int stop = rc < 0 ? errno : 0;
	hold_for_host(e, (uint32_t)children);
	syscall(SYS_close, gate[1]);
	for (long i = 0; i < children; i++)
		syscall(SYS_wait4, -1L, NULL, 0, NULL);
	if (stop != EAGAIN)
		return stop ? stop : PROBE_EXIT_DATA;
	return (unsigned long)children + 1 <= lim.rlim_cur && (unsigned long)children + 3 >= lim.rlim_cur
		       ? 0 : PROBE_EXIT_DATA;
}

/* clone with a namespace flag: the exec policy's argument rule kills it. */
int act_clone_newuser(const struct probe_def *d, const struct probe_env *e)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}
