/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge role's program is a separate executable, mpbs-bridge
 * (bridge/), so that libnats and the TLS libraries it links are never
 * mapped into the supervisor or any other role: on one host nothing of
 * NATS is loaded anywhere. The role is forked and sandboxed like every
 * other (runner/spawn.c), then execs that program, which installs the
 * filter the supervisor compiled (runner/plan_bridge.c) once its start-up
 * is done, as the other roles seal themselves before their loop. */
#ifndef MPBS_BRIDGE_EXEC_H
#define MPBS_BRIDGE_EXEC_H

#include <stddef.h>

#include "host_part.h"

struct role_seal;

/* Lanes one bridge carries at most: an artifact and a signal lane per provider. */
#define BRIDGE_LANES_MAX (2 * TOPO_PROVIDERS_MAX)
#define BRIDGE_ARGS_MAX (48 + 2 * BRIDGE_LANES_MAX)
#define BRIDGE_STRINGS_MAX (4096 + 64 * BRIDGE_LANES_MAX)

/* Where the program sits inside the bridge's sandbox (a read-only bind of
 * the file alone). */
#define BRIDGE_PROGRAM_IN_SANDBOX "/bridge/mpbs-bridge"

struct bridge_config {
	size_t n_keep;                  /* its fds are 3 .. 3 + n_keep - 1, inherited by the program */
	char *argv[BRIDGE_ARGS_MAX + 1];
	size_t argc;
	char strings[BRIDGE_STRINGS_MAX];
	size_t used;
};

/* Appends one argument (copied into cfg->strings). Returns 0, or -1 when
 * the table is full (a plan error: it cannot happen within the limits). */
int bridge_arg(struct bridge_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* In the role, after every sandbox step but seccomp: lets fds 0 .. 3 +
 * n_keep - 1 through the exec and execs the program with an empty
 * environment. Returns only on failure (reported as 'E' on its status fd). */
int bridge_exec(const struct bridge_config *cfg, const struct role_seal *seal);

#endif
