/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on files and programs: another provider's key, the ledger,
 * the topology, devices and /proc/sys by path, a program run, and the
 * ledger's open file rewritten in place. Raw syscalls, as every probe
 * (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *target_path(const struct probe_def *d, const struct probe_env *e, char *buf, size_t len)
{
	if (strcmp(d->path, "@other_key") == 0)
		return e->other_key;
	if (strcmp(d->path, "@ledger") == 0)
		return e->ledger;
	if (strcmp(d->path, "@topology") == 0)
		return e->topology;
	if (strcmp(d->path, "@escape") == 0) {
		snprintf(buf, len, "/keys/../../..%s", e->other_key);
		return buf;
	}
	if (strcmp(d->path, "@own_policy") == 0)
		return e->own_policy ? e->own_policy : "/policy/(none)";
	if (strcmp(d->path, "@provider_signal_fd") == 0) { /* as its exec'd program sees it: pid 1 */
		snprintf(buf, len, "/proc/1/fd/%d", PROVIDER_FD_SIGNAL);
		return buf;
	}
	if (strcmp(d->path, "@victim_mem") == 0) {
		snprintf(buf, len, "/proc/%d/mem", (int)e->victim_pid);
		return buf;
	}
	return d->path;
}

int act_open(const struct probe_def *d, const struct probe_env *e)
{
	char buf[4200];
	const char *path = target_path(d, e, buf, sizeof(buf));
	return errno_or_zero(syscall(SYS_openat, AT_FDCWD, path, (int)d->arg | O_CLOEXEC));
}

int act_execve(const struct probe_def *d, const struct probe_env *e)
{
	char *const argv[] = { (char *)d->path, NULL };
	char *const envp[] = { NULL };
	return errno_or_zero(syscall(SYS_execve, d->path, argv, envp));
}

int act_ftruncate_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ftruncate, ASSOCIATION_FD_LEDGER, 0L));
}

int act_pwrite_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pwrite64, ASSOCIATION_FD_LEDGER, "{}\n", 3UL, 0L));
}

/* Clears O_APPEND on the ledger's open file (shared with the supervisor's
 * fd): if a weakened policy lets it through, O_APPEND is set back at once,
 * so the probes after it still see the ledger as the role does. */
int act_clear_append_ledger(const struct probe_def *d, const struct probe_env *e)
{
	int rc = errno_or_zero(syscall(SYS_fcntl, ASSOCIATION_FD_LEDGER, F_SETFL, (long)O_WRONLY));
	if (rc == 0)
		(void)syscall(SYS_fcntl, ASSOCIATION_FD_LEDGER, F_SETFL, (long)O_APPEND);
	return rc;
}
