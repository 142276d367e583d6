/* SPDX-License-Identifier: Apache-2.0 */
/* Network namespace of a role (docs/ARCHITECTURE.md §4): none or only `lo`, configured
 * through libnl-route-3 (no `ip` subprocess). */
#ifndef MPBS_NETNS_H
#define MPBS_NETNS_H

#include <stddef.h>
#include <sys/types.h>

/* In the child, inside its new network namespace: brings `lo` up and reads
 * it back to make sure it is. Returns 0, or -1 with err set. */
int netns_lo_up(char *err, size_t errlen);

struct netns_link {
	char name[16];  /* IFNAMSIZ */
	unsigned flags; /* IFF_* */
};

/* Host side (tests, audit): lists every link of the network namespace of
 * PID. A forked helper enters that namespace and reports over a pipe, so the
 * caller's own namespace is never changed. Stores the links in out[0..*n)
 * and returns 0; -1 with err set, also when the namespace has more than max
 * links. */
int netns_links_of_pid(pid_t pid, struct netns_link *out, size_t max, size_t *n, char *err,
		       size_t errlen);

#endif
