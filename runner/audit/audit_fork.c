/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What a fork of the supervisor must not carry over into a role
 * (runner/spawn.c), checked from the host on every live sandbox: its
 * supplementary groups, its environment, its stderr. */
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Supplementary groups: cleared before the clone (clear_groups). */
void audit_check_groups(struct audit *a, size_t k, struct audit_row *r)
{
	char v[96];
	bool read_ok = audit_status_value(a->idle[k].pid, "Groups", v, sizeof(v));
	size_t len = read_ok ? strlen(v) : 0;
	while (len > 0 && v[len - 1] == ' ') /* the kernel ends the list with a space */
		v[--len] = '\0';
	snprintf(r->got, sizeof(r->got), "%s", !read_ok ? "unreadable" : len ? v : "none");
	r->ok = read_ok && len == 0;
	/* a rootless supervisor cannot drop the groups it was started with */
	if (read_ok && len && a->plan.roles[k].spec.shared_host_ids)
		r->weakened = rootless_weakening_of(a->plan.t->weakened, 1u << MECH_USERNS);
}

/* The environment: /proc/PID/environ holds no byte but NUL (the strings
 * the fork copied are zeroed, step_environment). Only names are reported,
 * never values. */
void audit_check_environ(struct audit *a, size_t k, struct audit_row *r)
{
	char path[64], buf[8192 + 1], first[40] = "";
	size_t vars = 0, total = 0;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)a->idle[k].pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;
	bool in_var = false;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] && !in_var && vars++ == 0) {
				size_t name = strcspn(buf + i, "=");
				snprintf(first, sizeof(first), "%.*s", (int)(name < 32 ? name : 32), buf + i);
			}
			in_var = buf[i] != '\0';
		}
		total += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (fd < 0 || n < 0) {
		snprintf(r->got, sizeof(r->got), "unreadable: %s", strerror(errno));
		return;
	}
	audit_judge_environ(vars, first, total, r);
}

void audit_judge_environ(size_t vars, const char *first, size_t total, struct audit_row *r)
{
	if (vars)
		snprintf(r->got, sizeof(r->got), "%zu variables (%s=...)", vars, first);
	else
		snprintf(r->got, sizeof(r->got), "none (%zu bytes, all NUL)", total);
	r->ok = vars == 0;
}

/* fd 2 is the role's own log pipe, never the supervisor's stderr: the
 * inode behind /proc/PID/fd/2 is the plan's pipe for this role. */
void audit_check_stderr(struct audit *a, size_t k, struct audit_row *r)
{
	char path[64];
	struct stat role;
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)a->idle[k].pid);
	if (stat(path, &role) < 0) {
		snprintf(r->got, sizeof(r->got), "unreadable: %s", strerror(errno));
		return;
	}
	audit_judge_stderr(a, k, role.st_mode, role.st_dev, role.st_ino, r);
}

void audit_judge_stderr(struct audit *a, size_t k, mode_t mode, dev_t dev, ino_t ino, struct audit_row *r)
{
	struct stat pipe_end, sup;
	if (fstat(a->plan.roles[k].stderr_rd, &pipe_end) < 0) {
		snprintf(r->got, sizeof(r->got), "unreadable: %s", strerror(errno));
		return;
	}
	bool shared = fstat(2, &sup) == 0 && sup.st_dev == dev && sup.st_ino == ino;
	r->ok = S_ISFIFO(mode) && dev == pipe_end.st_dev && ino == pipe_end.st_ino;
	snprintf(r->got, sizeof(r->got), "%s", r->ok ? "its own log pipe" : shared ? "the supervisor's stderr"
										     : "another file");
}
