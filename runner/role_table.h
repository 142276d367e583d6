/* SPDX-License-Identifier: Apache-2.0 */
/* The role table: every fact about a kind of role that the supervisor, the
 * audit and the topology need, in one row each. Adding a kind of role is one
 * row here, one wiring function in runner/plan_roles.c, and its folder under
 * roles/ (CONTRIBUTING.md). */
#ifndef MPBS_ROLE_TABLE_H
#define MPBS_ROLE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum role_kind {
	ROLE_INTERMEDIARY,
	ROLE_ASSOCIATION,
	ROLE_PROVIDER,
	ROLE_BRIDGE,
	ROLE_KINDS
};

/* A role's seccomp policy, and the wider one of a role that may run
 * programs (a provider with exec = yes). */
enum policy_variant { POLICY_PLAIN, POLICY_EXEC, POLICY_VARIANTS };

struct run_plan;
struct role_plan;
struct role_seal;

/* A role's rlimits where its topology section sets none (runner/limits.c
 * applies them, lowered to the supervisor's own hard limit). */
struct role_rlimits {
	unsigned nofile;      /* RLIMIT_NOFILE */
	unsigned nproc;       /* RLIMIT_NPROC: its threads and the processes it runs */
	/* It holds a socket and a whole body per HTTP connection: nofile grows
	 * by max_connections and the providers, its address space by
	 * max_connections x (max_request + 16 KiB) over a base. */
	bool per_connection;
	const char *why_nofile, *why_nproc, *why_as, *why_fsize; /* for the README's table */
};

struct role_kind_def {
	/* Its topology section ("[provider NAME]" for one per provider), its
	 * label in messages, and what `--audit-weaken ...:ROLE` names. */
	const char *name;
	/* Its process name; a provider's is followed by its own name. */
	const char *comm;
	/* policy/<name>.policy; [POLICY_EXEC] NULL for a role that never runs
	 * programs. */
	const char *policy[POLICY_VARIANTS];
	/* Host uid and gid: uid_base + uid_offset (+ the provider's index). */
	unsigned uid_offset;
	/* One role per [provider NAME] section, rather than one in all. */
	bool per_provider;
	/* Only in a host's part of a topology spread over hosts, where a
	 * channel leaves the host (runner/host_part.h); its uid follows the
	 * providers' (uid_base + uid_offset + the number of providers). */
	bool across_hosts;
	/* Stays in the host's network namespace (the bridge, which reaches the
	 * NATS servers; seccomp and Landlock limit it to TCP to their ports). */
	bool host_network;
	/* Its network namespace may have lo up: a provider's with exec = yes,
	 * whose programs may reach each other there (plan_provider sets the
	 * role's spec.net_lo); every other role's has no link up at all. */
	bool net_lo;
	/* A stop signals the roles of phase 1, waits until they have ended,
	 * then phase 2, ...; roles start in the reverse order, so a reader is
	 * there before its writers. */
	unsigned stop_phase;
	/* A stop starts it at once if it waits out a restart backoff: its
	 * channels hold work that must be done before the run ends. */
	bool drains_at_stop;
	/* It writes the ledger: the supervisor recovers the ledger's tail before
	 * every start, and after a restart asks the roles that keep a journal to
	 * send it again; while it rebuilds, the next phase's drain deadline waits. */
	bool writes_ledger;
	/* It keeps a journal of what it sent (lib/journal.h). */
	bool keeps_journal;
	/* Past its restart budget it is given up on and the run goes on with
	 * the others of its kind (what is written to it is read and dropped);
	 * any other role past its budget stops the run. */
	bool may_be_given_up;
	struct role_rlimits rlimits;
	/* What it counts and reports on its status fd (roles/role_counters.h). */
	const struct role_counter_list *counters;
	/* Fills the role's fds (the constants of its own header), mounts,
	 * Landlock rules and configuration (runner/plan_roles.c). index: the
	 * provider's, for per_provider rows. */
	void (*plan)(struct run_plan *p, struct role_plan *r, size_t index);
	/* Its program: runs in the sandbox after the last setup step, seals
	 * itself (seccomp) just before its loop, returns the exit status. */
	int (*entry)(void *cfg, const struct role_seal *seal);
};

extern const struct role_kind_def role_kinds[ROLE_KINDS];

/* The highest stop phase in the table. */
unsigned role_stop_phases(void);

/* A role's host uid and gid: uid_base + its row's uid_offset (+ index for a
 * per-provider kind, + n_providers for an across_hosts one). */
uid_t role_host_uid(unsigned uid_base, enum role_kind kind, size_t index, size_t n_providers);

/* Host uids a topology with n_providers uses: [uid_base, uid_base + count);
 * with_bridge: a host part that runs one. */
unsigned role_uid_count(size_t n_providers, bool with_bridge);

/* The policy's place among all policies of the table, in table order
 * (intermediary 0, association 1, provider 2, provider-exec 3, bridge 4): the audit's
 * PROBE_ROLE_* bit is 1 << it. -1 if the kind has no such variant. */
int role_policy_index(enum role_kind kind, enum policy_variant variant);

/* The role kind whose policy (either variant) is called name, with the
 * variant, or -1. */
int role_policy_by_name(const char *name, enum policy_variant *variant);

/* "intermediary, association, provider, provider-exec, bridge": every policy name,
 * for messages. */
const char *role_policy_names(void);

#endif
