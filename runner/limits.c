/* rlimits of a role. RLIMIT_NPROC counts processes per real uid, which is a
 * per-role cap because every role runs as its own host uid. */
#define _GNU_SOURCE
#include "limits.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static int set_limit(int resource, const char *name, uint64_t value, char *err, size_t errlen)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value };
	if (setrlimit(resource, &rl) == 0)
		return 0;
	int saved = errno;
	struct rlimit now;
	if (saved == EPERM && getrlimit(resource, &now) == 0 && now.rlim_max != RLIM_INFINITY)
		snprintf(err, errlen, "rlimits: %s=%llu: %s (above the inherited hard limit %llu)", name,
			 (unsigned long long)value, strerror(saved), (unsigned long long)now.rlim_max);
	else
		snprintf(err, errlen, "rlimits: %s=%llu: %s", name, (unsigned long long)value,
			 strerror(saved));
	return -1;
}

int limits_apply_rlimits(const struct topo_limits *l, char *err, size_t errlen)
{
	if (l && l->nofile && set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", l->nofile, err, errlen) < 0)
		return -1;
	if (l && l->nproc && set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", l->nproc, err, errlen) < 0)
		return -1;
	if (l && l->as_bytes && set_limit(RLIMIT_AS, "RLIMIT_AS", l->as_bytes, err, errlen) < 0)
		return -1;
	/* A core dump would write the role's memory (keys) to disk. */
	return set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err, errlen);
}
