/* SPDX-License-Identifier: Apache-2.0 */
/* What each role gets: its host uid, its fds, its mounts, its Landlock
 * rules, its seccomp policy and its configuration. Everything is prepared
 * (and every error found) before the first role starts, so bad input leaves
 * nothing half-started. */
#ifndef MPBS_PLAN_H
#define MPBS_PLAN_H

#include "../roles/association/association.h"
#include "../roles/intermediary/intermediary.h"
#include "../roles/provider/provider.h"
#include "bridge_exec.h"
#include "channels.h"
#include "host_part.h"
#include "role_table.h"
#include "nats_urls.h"
#include "segments.h"
#include "spawn.h"
#include "topology.h"

/* A signal channel's send buffer. A provider's journal must hold more
 * frames than this lets the channel queue (lib/journal.h;
 * tests/unit/test_journal.c measures it). */
#define SIGNAL_SNDBUF (256 << 10)
/* The control channel: requests to send the journal again, a byte each;
 * they coalesce. */
#define CONTROL_SNDBUF 4096

/* One role per one-role kind, TOPO_PROVIDERS_MAX of the per-provider one
 * (plan_prepare refuses a table that needs more). */
#define PLAN_ROLES_MAX (TOPO_PROVIDERS_MAX + ROLE_KINDS - 1)
/* Most fds one role receives: the association's ledger, one signal
 * channel per provider, its status pipe and its segments socket
 * (plan_roles.c). */
#define PLAN_KEEP_MAX (TOPO_PROVIDERS_MAX + 3)
#define PLAN_PATH_MAX 512
#define PLAN_BINDS_MAX 12
/* A provider's Landlock rules start with /keys and /policy/<name>: its
 * evaluator and handler get the rest (roles/provider/exec.h). */
#define PLAN_PROVIDER_PRIVATE_RULES 2

struct role_plan {
	enum role_kind kind;
	size_t provider;                 /* its index, for a per-provider kind */
	enum policy_variant policy_variant; /* POLICY_EXEC: it may run programs */
	char label[48];
	char comm[16];
	int keep[PLAN_KEEP_MAX];
	int *keep_at;                    /* its fds' table: keep, or the bridge's longer run_plan.bridge_keep */
	int control_writer;              /* the supervisor's end of its control channel, or -1 (none) */
	int status_rd;                   /* the supervisor's end of the status pipe */
	bool in_cgroup;                  /* a cgroup v2 group was made for it (removed after it exits) */
	int status_wr;
	int stderr_rd;                   /* its log pipe (runner/role_log.h): the supervisor's end */
	int stderr_wr;                   /* its fd 2; held for the whole run, so a restart gets the same pipe */
	struct mount_bind binds[PLAN_BINDS_MAX];
	struct landlock_rule landlock[PLAN_BINDS_MAX + 1]; /* + /dev/null */
	char policy_in_sandbox[PLAN_PATH_MAX];
	char key_in_sandbox[PLAN_PATH_MAX];
	struct topo_limits limits;       /* the topology's, with limits.c's defaults for unset rlimits */
	struct role_spec spec;
	union {
		struct intermediary_config im;
		struct provider_config pv;
		struct association_config as;
	} cfg;
};

struct run_plan {
	const struct topology *t;
	int listen_fd;
	/* The ledger's live segment, its spare and the segments socket
	 * (runner/segments.h); the association's fds are in its keep[]. */
	struct segments segments;
	struct channel artifact[TOPO_PROVIDERS_MAX];
	struct channel signal[TOPO_PROVIDERS_MAX];
	/* Per provider: its write-ahead journal (lib/journal.h) and the
	 * supervisor's requests to send it again; both outlive its restarts. */
	int journal[TOPO_PROVIDERS_MAX];
	struct channel control[TOPO_PROVIDERS_MAX];
	int im_artifact_fds[TOPO_PROVIDERS_MAX];
	bool receive_body[TOPO_PROVIDERS_MAX];
	/* Per provider: one artifact per message (a provider with exec, which
	 * consumes its current message as a handler starts). */
	bool one_per_message[TOPO_PROVIDERS_MAX];
	struct association_provider as_providers[TOPO_PROVIDERS_MAX];
	/* A host part's bridge (runner/plan_bridge.h): n_lanes 0, none. */
	struct lane lanes[BRIDGE_LANES_MAX];
	size_t n_lanes;
	int lane_state[BRIDGE_LANES_MAX];   /* per lane: its progress, across the bridge's restarts */
	struct channel bridge_control;
	int bridge_seccomp;                 /* sealed memfd: its compiled filter */
	int bridge_secrets;                 /* sealed memfd: its NATS password and TLS material */
	char bridge_program[PLAN_PATH_MAX];
	char bridge_loader[PLAN_PATH_MAX];  /* its PT_INTERP ("" if static): the one system file it may execute */
	int bridge_keep[PLAN_SPAWN_FDS_MAX]; /* its fds 3 .. BRIDGE_FD_LANE(n_lanes) - 1, -1 in the gap */
	struct landlock_rule bridge_landlock[PLAN_BINDS_MAX + NATS_URLS_MAX];
	struct bridge_config bridge;
	struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS];
	/* plan_prepare failed on a file the operator must fix, not on the
	 * host: a seccomp policy that does not load (the run exits 78). */
	bool config_error;
	size_t n_roles;
	struct role_plan roles[PLAN_ROLES_MAX]; /* in role table order: intermediary, association, providers */
};

/* The directory holding the shipped seccomp policies. */
const char *plan_policy_dir(void);

/* Loads policy/<name>.policy (a name of the role table) from
 * plan_policy_dir(). */
int plan_load_policy(const char *name, struct seccomp_policy **out, char *err, size_t errlen);

/* The same from DIR (the audit's test-only --audit-policy-dir). */
int plan_load_policy_from(const char *dir, const char *name, struct seccomp_policy **out, char *err,
			  size_t errlen);

/* Every seccomp policy of the role table (each kind's and variant's), from
 * plan_policy_dir(): what a run loads, whichever its topology uses, and what
 * `mpbs-run -t` checks. Returns 0, or -1 with err naming the directory or
 * the file (line and word where they apply) and none kept. */
int plan_load_policies(struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS], char *err, size_t errlen);
void plan_free_policies(struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS]);

/* What the topology asks that this run cannot give (t->weakened: a
 * --rootless run has no cgroup limits, so require_cgroups = yes is
 * refused). Returns 0, or -1 with err. */
int plan_check_weakened(const struct topology *t, char *err, size_t errlen);
/* What `mpbs-run -t` checks beyond the topology (runner/plan_check.c):
 * plan_check_weakened, every seccomp policy a run loads, and each
 * provider's policy, its syntax and values as the provider parses it and
 * what it asks of the topology. Returns 0, or -1 with err naming the file,
 * and its line and key where they apply. Keeps nothing of what it read. */
int plan_check(const struct topology *t, char *err, size_t errlen);

/* Demo keys, key checks, listener, ledger file, channels, policies, specs.
 * Returns 0, or -1 with err set and everything released. */
int plan_prepare(struct run_plan *p, const struct topology *t, char *err, size_t errlen);
void plan_release(struct run_plan *p);

/* The index in p->roles of the first role of this kind (the audit aims at
 * "the association", "a provider"). */
size_t plan_first_role(const struct run_plan *p, enum role_kind kind);

/* A fresh status pipe for a role about to be restarted. */
int plan_renew_status(struct role_plan *r, char *err, size_t errlen);

/* The association's ledger and segments socket fds, from p->segments: at
 * the plan, and again after segments_prepare before each restart. */
void plan_association_segments(struct run_plan *p, struct role_plan *r);

/* The files a role reads, checked (and demo keys made) before anything
 * starts (runner/plan_files.c). */
int plan_provider_files(struct run_plan *p, size_t i, char *err, size_t errlen);
int plan_provider_seen(struct run_plan *p, size_t i, char *err, size_t errlen);
int plan_association_files(struct run_plan *p, char *err, size_t errlen);

/* Each role kind's wiring, named by its row of the role table
 * (runner/plan_roles.c). */
void plan_intermediary(struct run_plan *p, struct role_plan *r, size_t index);
void plan_association(struct run_plan *p, struct role_plan *r, size_t index);
void plan_provider(struct run_plan *p, struct role_plan *r, size_t index);

#include "plan_bridge.h"

#endif
