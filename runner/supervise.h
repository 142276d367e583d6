/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor's run: prepare, start every role, watch them in one epoll
 * loop (signalfd, pidfds, status pipes), stop them in order. */
#ifndef MPBS_SUPERVISE_H
#define MPBS_SUPERVISE_H

#include "topology.h"

struct run_options {
	int ready_fd;        /* --ready-fd: "READY=1\n" is written when all roles run, or -1 */
	unsigned drain_ms;   /* how long each stop phase may take before SIGKILL */
	char *const *overrides; /* the --set options, re-applied when SIGHUP re-checks the file */
	size_t n_overrides;
	bool rootless;       /* --rootless: a normal user's run (runner/rootless.h) */
};

/* Returns the process exit status: 0 after a clean stop, 1 if a role failed. */
int supervise_run(const struct topology *t, const struct run_options *opt);

#endif
