/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What each kind of role receives: its fds (the constants its own header
 * names, handed over in that order), its mounts and Landlock rules, its
 * limits and its configuration. One function per row of the role table
 * (runner/role_table.c); the fields every role has (names, uid, seccomp,
 * entry) are filled by plan.c before it runs. */
#include "plan.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "../lib/keys.h"
#include "limits.h"

/* What a provider's programs need to load and run, read-only: never /etc as
 * a whole (other providers' keys may live under /etc/mpbs), never /home. */
static const char *const exec_system_paths[] = {
	"/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache",
};

/* Hands fd over as number `as` in the role (its header names them). */
static void keep_as(struct role_plan *r, int as, int fd)
{
	r->keep[as - ROLE_FD_FIRST] = fd;
}

/* The status pipe goes last, as number status_as in the role. The role's
 * limits: the topology's, and the defaults of limits.c for the rlimits it
 * leaves unset. */
static void keep_status_and_limits(struct role_plan *r, const struct run_plan *p, int status_as,
				   const struct topo_limits *set)
{
	size_t status_index = (size_t)(status_as - ROLE_FD_FIRST);
	keep_as(r, status_as, r->status_wr);
	r->spec.n_keep = status_index + 1;
	r->spec.status_index = status_index;
	limits_with_defaults(set, r->kind, p->t, &r->limits);
}

void plan_intermediary(struct run_plan *p, struct role_plan *r, size_t index)
{
	const struct topology *t = p->t;
	size_t n = t->n_providers;
	keep_as(r, INTERMEDIARY_FD_LISTEN, p->listen_fd);
	for (size_t i = 0; i < n; i++) {
		keep_as(r, INTERMEDIARY_FD_ARTIFACT(i), p->artifact[i].writer);
		p->im_artifact_fds[i] = INTERMEDIARY_FD_ARTIFACT(i);
	}
	keep_status_and_limits(r, p, INTERMEDIARY_FD_STATUS(n), &t->limits[ROLE_INTERMEDIARY]);
	r->cfg.im = (struct intermediary_config){
		.listen_fd = INTERMEDIARY_FD_LISTEN, .n_providers = n, .artifact_fds = p->im_artifact_fds,
		.receive_body = p->receive_body, .one_per_message = p->one_per_message, .path = t->http_path,
		.max_request = t->max_request, .max_connections = t->max_connections, .max_connections_per_ip = t->max_connections_per_ip,
		.timeout_s = t->http_timeout,
		.header_timeout_s = t->header_timeout, .body_timeout_s = t->body_timeout,
		.stall_ms = t->stall_timeout_ms,
		.status_fd = INTERMEDIARY_FD_STATUS(n),
	};
}

void plan_association_segments(struct run_plan *p, struct role_plan *r)
{
	keep_as(r, ASSOCIATION_FD_LEDGER, p->segments.live_fd);
	keep_as(r, ASSOCIATION_FD_SEGMENTS, p->segments.peer);
}

void plan_association(struct run_plan *p, struct role_plan *r, size_t index)
{
	const struct topology *t = p->t;
	size_t n = t->n_providers;
	for (size_t i = 0; i < n; i++) {
		keep_as(r, ASSOCIATION_FD_SIGNAL(i), p->signal[i].reader);
		p->as_providers[i].signal_fd = ASSOCIATION_FD_SIGNAL(i);
	}
	keep_status_and_limits(r, p, ASSOCIATION_FD_STATUS(n), &t->limits[ROLE_ASSOCIATION]);
	plan_association_segments(p, r);
	/* Its head-signing key directory, read-only, read once before its seal. */
	snprintf(r->key_in_sandbox, sizeof(r->key_in_sandbox), "/keys/%s", KEYS_SECRET_NAME);
	r->binds[0] = (struct mount_bind){ .src = t->association_keys, .dst = "/keys", .writable = false };
	r->landlock[0] = (struct landlock_rule){ .path = "/keys", .access = LL_READ };
	r->spec.mounts = (struct mount_plan){ .binds = r->binds, .n_binds = 1 };
	r->spec.landlock = r->landlock;
	r->spec.n_landlock = 1;
	r->cfg.as = (struct association_config){
		.head_key_path = r->key_in_sandbox,
		.n_providers = n, .providers = p->as_providers, .ledger_fd = ASSOCIATION_FD_LEDGER,
		.segments_fd = ASSOCIATION_FD_SEGMENTS, .segment_size = t->segment_size,
		.segment_age = t->segment_age,
		.confirm_k = t->confirm_k ? t->confirm_k : (unsigned)n,
		.pending_timeout = t->pending_timeout, .pending_max = t->pending_max,
		.status_fd = ASSOCIATION_FD_STATUS(n),
	};
}

/* A provider that may run programs also sees the system's program dirs
 * and its own exec_dir (at /exec, so its policy names programs the same way
 * wherever the operator keeps them), read-only and executable, and /dev/null. */
static size_t plan_exec_binds(struct role_plan *r, const struct topo_provider *tp, size_t nb)
{
	struct stat st;
	for (size_t k = 0; k < sizeof(exec_system_paths) / sizeof(exec_system_paths[0]); k++) {
		const char *path = exec_system_paths[k];
		if (nb == PLAN_BINDS_MAX - 1 || lstat(path, &st) < 0)
			continue;
		r->landlock[nb] = (struct landlock_rule){ .path = path, .access = LL_READ | LL_EXEC };
		r->binds[nb++] = (struct mount_bind){ .src = path, .dst = path, .writable = false };
	}
	if (tp->exec_dir) {
		r->landlock[nb] = (struct landlock_rule){ .path = "/exec", .access = LL_READ | LL_EXEC };
		r->binds[nb++] = (struct mount_bind){ .src = tp->exec_dir, .dst = "/exec", .writable = false };
	}
	return nb;
}

/* A provider sees its key directory at /keys and its policy file alone at
 * /policy/<name> (never the directory: other providers' policies may sit
 * beside it), both read-only, and its state directory at /state. */
void plan_provider(struct run_plan *p, struct role_plan *r, size_t i)
{
	const struct topology *t = p->t;
	const struct topo_provider *tp = &t->providers[i];
	size_t nb = 0;
	char base[PATH_MAX];

	snprintf(base, sizeof(base), "%s", tp->policy);
	snprintf(r->policy_in_sandbox, sizeof(r->policy_in_sandbox), "/policy/%s", basename(base));
	snprintf(r->key_in_sandbox, sizeof(r->key_in_sandbox), "/keys/%s", KEYS_SECRET_NAME);
	r->binds[nb++] = (struct mount_bind){ .src = tp->keys, .dst = "/keys", .writable = false };
	r->binds[nb++] = (struct mount_bind){ .src = tp->policy, .dst = r->policy_in_sandbox, .writable = false };
	/* the first PLAN_PROVIDER_PRIVATE_RULES rules: the provider's alone */
	r->landlock[0] = (struct landlock_rule){ .path = "/keys", .access = LL_READ };
	r->landlock[1] = (struct landlock_rule){ .path = r->policy_in_sandbox, .access = LL_READ };
	if (tp->state) {
		r->landlock[nb] = (struct landlock_rule){ .path = "/state", .access = LL_READ | LL_WRITE };
		r->binds[nb++] = (struct mount_bind){ .src = tp->state, .dst = "/state", .writable = true };
	}
	if (tp->exec)
		nb = plan_exec_binds(r, tp, nb);
	keep_as(r, PROVIDER_FD_ARTIFACT, p->artifact[i].reader);
	keep_as(r, PROVIDER_FD_SIGNAL, p->signal[i].writer);
	keep_as(r, PROVIDER_FD_JOURNAL, p->journal[i]);
	keep_as(r, PROVIDER_FD_CONTROL, p->control[i].reader);
	r->control_writer = p->control[i].writer;
	keep_status_and_limits(r, p, PROVIDER_FD_STATUS, &tp->limits);
	r->policy_variant = tp->exec ? POLICY_EXEC : POLICY_PLAIN;
	/* lo is for its programs; without them its netns stays empty (and
	 * its start-up does not load libnl's route code) */
	r->spec.net_lo = r->spec.net_lo && tp->exec;
	r->spec.hostname = tp->name;
	r->spec.mounts = (struct mount_plan){ .binds = r->binds, .n_binds = nb, .proc = true, .dev_null = tp->exec };
	r->spec.landlock = r->landlock;
	r->spec.n_landlock = nb;
	if (tp->exec)
		r->landlock[r->spec.n_landlock++] = (struct landlock_rule){ .path = "/dev/null",
									    .access = LL_READ | LL_WRITE };
	r->cfg.pv = (struct provider_config){
		.name = tp->name, .policy_path = r->policy_in_sandbox, .policy_shown = tp->policy,
		.secret_key_path = r->key_in_sandbox,
		.receive_body = tp->receive_body, .exec = tp->exec, .max_request = t->max_request,
		.checkpoint_every = tp->checkpoint_every, .checkpoint_us = tp->checkpoint_us,
		.artifact_fd = PROVIDER_FD_ARTIFACT, .signal_fd = PROVIDER_FD_SIGNAL, .journal_fd = PROVIDER_FD_JOURNAL,
		.control_fd = PROVIDER_FD_CONTROL, .status_fd = PROVIDER_FD_STATUS,
	};
	/* Its programs get the same rules but the first two: no /keys, no
	 * /policy (they read untrusted bodies; the keys are the provider's). */
	if (tp->exec) {
		r->cfg.pv.program_rules = &r->landlock[PLAN_PROVIDER_PRIVATE_RULES];
		r->cfg.pv.n_program_rules = r->spec.n_landlock - PLAN_PROVIDER_PRIVATE_RULES;
	}
}
