/* SPDX-License-Identifier: Apache-2.0 */
/* The association: a non-authoritative observer. It reads each provider's
 * signal channel (the channel, given by the supervisor, says who the
 * provider is), checks the chain and the signed checkpoints, records
 * everything in the ledger and writes `confirmed` when the rule holds.
 * It can reach no provider: every channel it holds is read-only. */
#ifndef MPBS_ASSOCIATION_H
#define MPBS_ASSOCIATION_H

#include <stddef.h>
#include <stdint.h>

#include "../role.h"

/* The fds the association receives (runner/plan_roles.c hands them over
 * in this order): the ledger, one signal channel read end per provider in
 * the topology's order, its status pipe. */
#define ASSOCIATION_FD_LEDGER ROLE_FD_FIRST
#define ASSOCIATION_FD_SIGNAL(i) (ASSOCIATION_FD_LEDGER + 1 + (int)(i))
#define ASSOCIATION_FD_STATUS(n_providers) ASSOCIATION_FD_SIGNAL(n_providers)

struct association_provider {
	const char *name;
	uint8_t public_key[32];
	uint32_t checkpoint_every; /* most uncovered signals it may have in flight */
	int signal_fd;             /* read-only end */
};

struct association_config {
	size_t n_providers;
	const struct association_provider *providers;
	int ledger_fd;             /* O_RDWR|O_APPEND, opened by the supervisor */
	const char *head_key_path; /* its Ed25519 secret key, read before the seal (ledger heads) */
	unsigned confirm_k;        /* 1..n_providers (all = n_providers) */
	uint32_t pending_timeout;  /* seconds */
	uint32_t pending_max;
	int status_fd;
};

struct role_seal;

/* seal: installed just before the main loop (see role.h). */
int association_main(const struct association_config *cfg, const struct role_seal *seal);

#endif
