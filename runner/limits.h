/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits of a role that need no cgroup (docs/ARCHITECTURE.md §4): rlimits. */
#ifndef MPBS_LIMITS_H
#define MPBS_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/doc_text.h"
#include "role_table.h"
#include "topology.h"

/* In the supervisor, at plan time: out = set, with every rlimit set leaves
 * at 0 given the role's default: RLIMIT_NOFILE and RLIMIT_NPROC from its
 * row of the role table (struct role_rlimits), RLIMIT_AS 1 GiB (for a
 * per-connection role at least 256 MiB + max_connections × (max_request +
 * 16 KiB)), RLIMIT_FSIZE 1 GiB (never for the ledger's writer). A default
 * is lowered to the supervisor's own hard limit; a value the topology sets
 * is not (a role above it fails to start, naming the limit). Under
 * MPBS_SANITIZED no AS or NPROC default. */
void limits_with_defaults(const struct topo_limits *set, enum role_kind role, const struct topology *t,
			  struct topo_limits *out);

/* Writes the table of these defaults, one column per role kind, as the
 * README (Markdown) or mpbs-topology(5) (scdoc) shows it. Returns 0, or -1
 * on a write error. */
int limits_table(FILE *f, enum doc_format fmt);

/* In the child: sets RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_AS and
 * RLIMIT_FSIZE to l's value (soft = hard) where it is set (0 = keep the
 * inherited limit), and RLIMIT_CORE to 0 always. l may be NULL. Inside a
 * user namespace a hard limit can only go down. Returns 0, or -1 with err
 * set ("rlimits: RLIMIT_NOFILE=N: strerror (...)"). */
int limits_apply_rlimits(const struct topo_limits *l, char *err, size_t errlen);

#endif
