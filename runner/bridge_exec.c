/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "bridge_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../roles/role.h"
#include "plan_bridge.h"

int bridge_arg(struct bridge_config *cfg, const char *fmt, ...)
{
	if (cfg->argc == BRIDGE_ARGS_MAX)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cfg->strings + cfg->used, sizeof(cfg->strings) - cfg->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cfg->strings) - cfg->used)
		return -1;
	cfg->argv[cfg->argc++] = cfg->strings + cfg->used;
	cfg->argv[cfg->argc] = NULL;
	cfg->used += (size_t)n + 1;
	return 0;
}

/* spawn.c moved the kept fds into place close-on-exec: the program gets
 * exactly those and its standard fds, nothing else. The gap below the
 * lane channels (plan_bridge.h) is closed: EBADF there is expected. */
static int keep_through_exec(int last)
{
	for (int fd = 0; fd <= last; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 && errno == EBADF && fd > BRIDGE_FD_LANES && fd < BRIDGE_FD_CHANNELS)
			continue;
		if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			return -1;
	}
	return 0;
}

int bridge_exec(const struct bridge_config *cfg, const struct role_seal *seal)
{
	(void)seal; /* the program installs the exported filter itself */
	char why[256];
	static char *const no_env[] = { NULL };
	if (keep_through_exec(ROLE_FD_FIRST + (int)cfg->n_keep - 1) < 0) {
		snprintf(why, sizeof(why), "keep its fds through exec: %s", strerror(errno));
		return role_report_cannot_start(BRIDGE_FD_STATUS, why);
	}
	execve(BRIDGE_PROGRAM_IN_SANDBOX, cfg->argv, no_env);
	snprintf(why, sizeof(why), "execve %s: %s", BRIDGE_PROGRAM_IN_SANDBOX, strerror(errno));
	return role_report_cannot_start(BRIDGE_FD_STATUS, why);
}
