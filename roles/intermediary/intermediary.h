/* SPDX-License-Identifier: Apache-2.0 */
/* The intermediary: blind HTTP front. It answers a constant 204 to every
 * well-formed POST on its path, derives request_repr and binding, writes one
 * artifact to every provider's channel, and forgets. It holds no key, no
 * policy, no outcome and no capability. */
#ifndef MPBS_INTERMEDIARY_H
#define MPBS_INTERMEDIARY_H

#include <stdbool.h>
#include <stddef.h>

#include "../role.h"

/* The fds the intermediary receives (runner/plan_roles.c hands them over
 * in this order): the listener, one artifact channel write end per provider
 * in the topology's order, its status pipe. */
#define INTERMEDIARY_FD_LISTEN ROLE_FD_FIRST
#define INTERMEDIARY_FD_ARTIFACT(i) (INTERMEDIARY_FD_LISTEN + 1 + (int)(i))
#define INTERMEDIARY_FD_STATUS(n_providers) INTERMEDIARY_FD_ARTIFACT(n_providers)

struct intermediary_config {
	int listen_fd;           /* bound and listening, made by the supervisor */
	size_t n_providers;
	const int *artifact_fds; /* write-only ends, one per provider */
	const bool *receive_body;/* per provider: does its artifact carry the body */
	/* per provider: one artifact per message, not a turn's packed (a
	 * provider that runs programs consumes its current message when a
	 * program starts, before the rest of the message is handled) */
	const bool *one_per_message;
	const char *path;        /* e.g. "/nuvl" */
	size_t max_request;      /* larger bodies are dropped, still 204 */
	unsigned max_connections;
	unsigned max_connections_per_ip; /* 0: no cap */
	unsigned timeout_s;      /* idle connections are closed after this */
	unsigned header_timeout_s; /* a request head must arrive within this */
	unsigned body_timeout_s; /* and its body within this after the head */
	unsigned stall_ms;       /* how long requests wait behind a full artifact channel */
	int status_fd;           /* status records to the supervisor (roles/role.h) */
};

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
struct role_seal;

/* seal: installed just before the main loop (see role.h). */
int intermediary_main(const struct intermediary_config *cfg, const struct role_seal *seal);

#endif
