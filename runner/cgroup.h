/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 limits of a role (docs/ARCHITECTURE.md §4), where a cgroup2 hierarchy offers
 * the controllers. cgroup v1 hierarchies are never touched. */
#ifndef MPBS_CGROUP_H
#define MPBS_CGROUP_H

#include <stddef.h>

#include "topology.h"

/* Creates <cgroup2 mount>/mpbs-run.<supervisor pid>/<role>, enables the
 * controllers its limits need (memory for memory_max, pids for pids_max, cpu
 * for cpu_max) and writes memory.max, pids.max, cpu.max for the limits that
 * are set. With no limit set the group is still made (the role can still be
 * placed and counted in it). *dirfd_out is the group opened
 * O_DIRECTORY|O_CLOEXEC, for clone3's CLONE_INTO_CGROUP; the caller closes it.
 * Returns 0; 1 with err set when cgroup v2 limits are unavailable here (no
 * cgroup2 mount, not writable, a needed controller not offered or not
 * enableable) and nothing is left behind; -1 with err set on any other
 * failure. role: a plain name, no '/'. */
int cgroup_role_create(const char *role, const struct topo_limits *l, int *dirfd_out, char *err,
		       size_t errlen);

/* After the role exited: removes its group, and mpbs-run.<pid> when that is
 * empty. Returns 0, or -1 with errno set (ENOENT when there was none). */
int cgroup_role_remove(const char *role);

#endif
