/* Resource limits of a role that need no cgroup (DESIGN §4): rlimits. */
#ifndef MPBS_LIMITS_H
#define MPBS_LIMITS_H

#include <stddef.h>

#include "topology.h"

/* In the child: sets RLIMIT_NOFILE, RLIMIT_NPROC and RLIMIT_AS to l's value
 * (soft = hard) where it is set (0 = keep the inherited limit), and
 * RLIMIT_CORE to 0 always. l may be NULL. Inside a user namespace a hard
 * limit can only go down. Returns 0, or -1 with err set
 * ("rlimits: RLIMIT_NOFILE=N: strerror (...)"). */
int limits_apply_rlimits(const struct topo_limits *l, char *err, size_t errlen);

#endif
