/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions that read the process's own state from inside: its /proc
 * view, its rlimits, its capabilities, no_new_privs and its fd table. Each
 * holds (0) or reports what it found (PROBE_EXIT_DATA). And the report the
 * live sandbox sends of itself (its environment, fd 2, fd table and
 * namespaces) for a normal user's audit. */
#include "probe_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A provider's /proc: read-only, only process directories (no /proc/sys),
 * its own pid 1 there, another role's host pid not. stat and statfs need
 * no Landlock right, so this sees the mount itself. */
int act_proc_view(const struct probe_def *d, const struct probe_env *e)
{
	struct statfs fs;
	struct stat st;
	char other[64];
	snprintf(other, sizeof(other), "/proc/%d", (int)e->victim_pid);
	if (syscall(SYS_statfs, "/proc", &fs) < 0)
		return errno;
	bool ok = (fs.f_flags & ST_RDONLY) && fs.f_type == 0x9fa0 /* PROC_SUPER_MAGIC */;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, "/proc/sys", &st, 0) < 0 && errno == ENOENT;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, "/proc/1", &st, 0) == 0;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, other, &st, 0) < 0 && errno == ENOENT;
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/comm", O_WRONLY | O_CLOEXEC);
	ok = ok && fd < 0 && (errno == EROFS || errno == EACCES);
	return ok ? 0 : PROBE_EXIT_DATA;
}

/* Every role runs under finite limits: no core dump, and a bounded
 * address space (not under ASan), file count and (arg 1) file size: the
 * topology's, or the defaults of runner/limits.c. */
int act_rlimits(const struct probe_def *d, const struct probe_env *e)
{
#ifdef MPBS_SANITIZED
	static const int finite[] = { RLIMIT_NOFILE, RLIMIT_FSIZE }; /* no default RLIMIT_AS under ASan */
#else
	static const int finite[] = { RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_AS };
#endif
	size_t n = sizeof(finite) / sizeof(finite[0]);
	struct rlimit lim;
	if (syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &lim) < 0)
		return errno;
	bool ok = lim.rlim_cur == 0 && lim.rlim_max == 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (finite[i] == RLIMIT_FSIZE && !d->arg)
			continue; /* arg 0: the association, whose ledger grows unbounded */
		if (syscall(SYS_prlimit64, 0, finite[i], NULL, &lim) < 0)
			return errno;
		ok = lim.rlim_max != RLIM_INFINITY;
	}
	return ok ? 0 : PROBE_EXIT_DATA;
}

/* ---- capabilities, no_new_privs, fds: read after every other setup step ---- */

int act_caps_empty(const struct probe_def *d, const struct probe_env *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];
	if (syscall(SYS_capget, &h, c) < 0)
		return errno;
	for (int i = 0; i < 2; i++)
		if (c[i].effective || c[i].permitted || c[i].inheritable)
			return PROBE_EXIT_DATA;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return PROBE_EXIT_DATA;
	return 0;
}

int act_no_new_privs(const struct probe_def *d, const struct probe_env *e)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : PROBE_EXIT_DATA;
}

/* Only fds 0..2 and the n_fds it was given from ROLE_FD_FIRST are open; F_GETFD
 * is in every role's policy, so this runs sealed. */
int act_fd_table(const struct probe_def *d, const struct probe_env *e)
{
	for (long fd = ROLE_FD_FIRST; fd < 1024; fd++) {
		bool open_now = syscall(SYS_fcntl, fd, F_GETFD) >= 0;
		if (open_now != probe_fd_given(e, fd))
			return PROBE_EXIT_DATA;
	}
	return 0;
}

/* ---- the live sandbox's report of itself (probe.h, PROBE_STATUS_SELF) ---- */

const char *const probe_ns_names[PROBE_NS_COUNT] = {
	[PROBE_NS_USER] = "user", [PROBE_NS_NET] = "net", [PROBE_NS_MNT] = "mnt", [PROBE_NS_PID] = "pid",
	[PROBE_NS_IPC] = "ipc",	  [PROBE_NS_UTS] = "uts", [PROBE_NS_CGROUP] = "cgroup",
};

/* Its environment area is the supervisor's (a clone keeps the addresses):
 * the bytes /proc/PID/environ would show, read in its own memory. Counted
 * as that check counts them: a string starts at each non-NUL byte after a
 * NUL (or at the start). */
static void report_environ(const struct probe_idle_args *args, struct probe_self_report *rep)
{
	const char *p = (const char *)(uintptr_t)args->env_start, *end = (const char *)(uintptr_t)args->env_end;
	bool in_var = false;
	rep->env_bytes = (uint32_t)(end - p);
	for (; p < end; p++) {
		if (*p && !in_var && rep->env_vars++ == 0) {
			size_t name = strcspn(p, "=");
			snprintf(rep->env_first, sizeof(rep->env_first), "%.*s", (int)(name < 31 ? name : 31), p);
		}
		in_var = *p != '\0';
	}
}

void probe_self_report(const struct probe_idle_args *args, struct probe_self_report *rep)
{
	struct stat st;
	*rep = (struct probe_self_report){ .fd_highest = -1 };
	report_environ(args, rep);
	if (fstat(2, &st) == 0) {
		rep->stderr_dev = st.st_dev;
		rep->stderr_ino = st.st_ino;
		rep->stderr_mode = st.st_mode;
	} else {
		rep->stderr_errno = errno;
	}
	for (int fd = ROLE_FD_FIRST; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0) {
			rep->fds_above++;
			rep->fd_highest = fd;
			rep->fds_in_gap += fd >= args->fd_gap_from && fd < args->fd_gap_to;
		}
	/* stat, not readlink: the inode is what the host's stat of
	 * /proc/PID/ns/NAME gives; it needs no Landlock right */
	for (int n = 0; n < PROBE_NS_COUNT; n++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", probe_ns_names[n]);
		rep->ns[n] = stat(path, &st) == 0 ? st.st_ino : 0;
	}
}
