/* SPDX-License-Identifier: Apache-2.0 */
/* A topology spread over hosts (docs/MULTIHOST.md): each role's `host`
 * key names the host part it runs in, and `mpbs-run --host NAME` runs one
 * part. Where a channel has one end here and the other in another part,
 * the part's bridge holds this end and carries the frames over NATS
 * JetStream: a lane. Every role keeps the fds it has on one host; only
 * who holds the other end changes. */
#ifndef MPBS_HOST_PART_H
#define MPBS_HOST_PART_H

#include <stdbool.h>
#include <stddef.h>

#include "topology.h"

/* Some role sets `host`: the topology is spread, and checked so that
 * every role does. */
bool host_part_spread(const struct topology *t);

/* The host part role (kind, provider index i) runs in, or NULL on one host. */
const char *host_part_of(const struct topology *t, enum role_kind kind, size_t i);

/* Whether that role runs in this run: always on one host; in a spread
 * topology, when its host part is t->this_host. */
bool host_part_here(const struct topology *t, enum role_kind kind, size_t i);

/* Two roles' host parts are the same (both NULL on one host). */
bool host_part_same(const char *a, const char *b);

enum lane_dir { LANE_OUT, LANE_IN };     /* channel -> NATS, NATS -> channel */
enum lane_kind { LANE_ARTIFACT, LANE_SIGNAL };

struct lane {
	enum lane_dir dir;
	enum lane_kind kind;
	size_t provider; /* index in the topology: the channel's */
};

/* Every lane of this run's host part, in provider order, artifacts before
 * signals. Returns how many (0: no bridge runs). out holds 2 x
 * TOPO_PROVIDERS_MAX. */
size_t host_part_lanes(const struct topology *t, struct lane *out);

/* "art" or "sig", "out" or "in": the bridge's command line words. */
const char *lane_kind_word(enum lane_kind k);
const char *lane_dir_word(enum lane_dir d);

/* Landlock restricts TCP connect from ABI 4 (Linux 6.7) on: on an older
 * kernel a part's bridge could connect to every TCP port, the seccomp
 * socket family rule its only network restriction. Whether a part whose
 * bridge runs may start under Landlock ABI abi (0: none): 0 from ABI 4 on;
 * 1 before it with [nats] allow_any_tcp_port (msg says what that lets
 * through, for a warning); -1 without (msg says why, for the error). */
int host_part_bridge_admitted(int abi, bool allow_any_tcp_port, char *msg, size_t len);

/* The distinct host parts in topology order (intermediary, association,
 * providers). Returns how many, at most max. */
size_t host_part_names(const struct topology *t, const char **names, size_t max);

#endif
