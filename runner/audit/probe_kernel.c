/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on what only a privileged process may ask of the kernel:
 * namespaces, mounts, BPF, perf, io_uring, keys, modules, reboot, the
 * clock, the hostname, rlimits, ids, the terminal, other ABIs, and System V
 * and POSIX IPC. Each argument stays harmless even where a weakened layer
 * let the call through. Raw syscalls, as every probe (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

/* ---- namespaces and mounts ---- */

int act_unshare(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_unshare, d->arg));
}

int act_clone3_newuser(const struct probe_def *d, const struct probe_env *e)
{
	struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } args = {
		.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

int act_setns(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setns, ROLE_FD_FIRST, CLONE_NEWNET));
}

int act_mount(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mount, "none", "/", "tmpfs", 0UL, "size=1m"));
}

int act_pivot_root(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pivot_root, ".", "."));
}

int act_fsopen(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_fsopen, "tmpfs", 1U /* FSOPEN_CLOEXEC */));
}

int act_open_tree(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_open_tree, AT_FDCWD, "/", 1U /* OPEN_TREE_CLONE */ | O_CLOEXEC));
}

/* ---- kernel interfaces ---- */

int act_bpf(const struct probe_def *d, const struct probe_env *e)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	return errno_or_zero(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

int act_perf_event_open(const struct probe_def *d, const struct probe_env *e)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	return errno_or_zero(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL));
}

int act_userfaultfd(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

int act_io_uring_setup(const struct probe_def *d, const struct probe_env *e)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	return errno_or_zero(syscall(SYS_io_uring_setup, 8U, &params));
}

int act_keyctl(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0L));
}

int act_add_key(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_add_key, "user", "mpbs-audit", "x", 1UL, KEY_SPEC_PROCESS_KEYRING));
}

int act_init_module(const struct probe_def *d, const struct probe_env *e)
{
	static const char not_a_module[16];
	return errno_or_zero(syscall(SYS_init_module, not_a_module, sizeof(not_a_module), ""));
}

int act_finit_module(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_finit_module, 0, "", 0));
}

int act_kexec_load(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); /* unload: harmless */
}

int act_reboot(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				     LINUX_REBOOT_CMD_CAD_ON, NULL));
}

int act_swapon(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_swapon, "/mpbs-audit-swap", 0));
}

/* Sets the clock to what it reads: harmless even if it were allowed. */
int act_clock_settime(const struct probe_def *d, const struct probe_env *e)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return errno;
	return errno_or_zero(syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
}

int act_sethostname(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sethostname, "mpbs-audit", 10UL));
}

int act_raise_rlimit(const struct probe_def *d, const struct probe_env *e)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	return errno_or_zero(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &unlimited, NULL));
}

int act_setuid0(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setuid, 0));
}

int act_tiocsti(const struct probe_def *d, const struct probe_env *e)
{
	char c = 'x';
	return errno_or_zero(syscall(SYS_ioctl, 0, TIOCSTI, &c));
}

#if defined(__x86_64__)
/* i386 getpid (20) through int 0x80. */
int act_int80(const struct probe_def *d, const struct probe_env *e)
{
	long rc;
	__asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	return rc < 0 ? (int)-rc : 0;
}

int act_x32(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(X32_SYSCALL_BIT | SYS_getpid));
}
#endif

/* ---- IPC ---- */

int act_shmget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_shmget, IPC_PRIVATE, 4096UL, IPC_CREAT | 0600));
}

int act_msgget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600));
}

int act_mq_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mq_open, "mpbs-audit", O_RDWR | O_CREAT, 0600, NULL));
}
