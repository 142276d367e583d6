/* SPDX-License-Identifier: Apache-2.0 */
/* A provider: the only authority. It reads its own policy and key inside its
 * own sandbox, decides alone whether to initiate, and emits START and
 * COMPLETE signals on its hash chain, covered by checkpoints it signs. A
 * refusal sends nothing anywhere. */
#ifndef MPBS_PROVIDER_H
#define MPBS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../role.h"

struct landlock_rule;

/* The fds a provider receives (runner/plan_roles.c hands them over in
 * this order). */
enum provider_fd {
	PROVIDER_FD_ARTIFACT = ROLE_FD_FIRST, /* its artifact channel, read end */
	PROVIDER_FD_SIGNAL,       /* its signal channel, write end */
	PROVIDER_FD_JOURNAL,      /* its write-ahead journal (journal.h), held by the supervisor */
	PROVIDER_FD_CONTROL,      /* the supervisor's requests to send the journal again, read end */
	PROVIDER_FD_STATUS,       /* its status pipe (roles/role.h) */
	PROVIDER_FD_END
};

struct provider_config {
	const char *name;
	const char *policy_path;     /* path as seen inside the provider's sandbox */
	const char *policy_shown;    /* the same file as the topology names it, for its messages */
	const char *secret_key_path; /* idem */
	bool receive_body;           /* what the topology tells the intermediary */
	bool exec;                   /* the topology lets it run an evaluator or handler */
	size_t max_request;          /* largest body the intermediary forwards */
	/* With exec: what its evaluator and handler may reach (paths in the
	 * sandbox), i.e. its own Landlock rules without /keys and /policy. */
	const struct landlock_rule *program_rules;
	size_t n_program_rules;
	bool weaken_program_landlock; /* test-only (--audit-weaken exec-landlock:ROLE): no nested domain */
	uint32_t checkpoint_every;
	uint32_t checkpoint_us; /* the topology's checkpoint_ms, in µs */
	int artifact_fd;             /* read-only end */
	int signal_fd;               /* write-only end */
	int journal_fd;              /* its write-ahead journal (journal.h), held by the supervisor */
	int control_fd;              /* read end of the supervisor's requests to send the journal again */
	int status_fd;
};

struct role_seal;

/* seal: installed just before the main loop (see role.h). */
int provider_main(const struct provider_config *cfg, const struct role_seal *seal);

#endif
