/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The audit's run (audit.h, docs/CLAIMS.md): prepares the plan as a run
 * does, starts every role's live sandbox, fills what each role's probes
 * aim at, then takes the steps of audit_internal.h in order and reports. */
#include "audit_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/keys.h"
#include "../../lib/log.h"
#include "audit_surface.h"

void *audit_append(void *items, size_t *n, size_t *cap, size_t size)
{
	char *array;
	memcpy(&array, items, sizeof(array));
	if (*n == *cap) {
		size_t more = *cap ? *cap * 2 : 256;
		char *grown = realloc(array, more * size);
		if (!grown)
			return NULL;
		array = grown;
		memcpy(items, &array, sizeof(array));
		*cap = more;
	}
	char *item = array + (*n)++ * size;
	memset(item, 0, size);
	return item;
}

struct audit_row *audit_new_row(struct audit *a)
{
	return audit_append(&a->rows, &a->n_rows, &a->cap_rows, sizeof(*a->rows));
}

/* What the roles wrote on their log pipes, labelled and escaped onto the
 * audit's stderr as a run does (a probe that logs must never block). */
void audit_forward_logs(struct audit *a)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		while (role_log_drain(&a->log[k], a->plan.roles[k].stderr_rd, 2) > 0)
			;
}

/* What each role's probes aim at: another role's live sandbox, another
 * provider's key, the listener, the audit's host service, the ledger. */
/* Another role's live sandbox for probes aimed at one: a provider's for
 * the intermediary, the intermediary's for the others; in a host part that
 * lacks that role, any other role of the part. */
static pid_t victim_of(const struct audit *a, const struct role_plan *r)
{
	size_t k = plan_first_role(&a->plan, r->kind == ROLE_INTERMEDIARY ? ROLE_PROVIDER : ROLE_INTERMEDIARY);
	for (size_t j = 0; k == a->plan.n_roles && j < a->plan.n_roles; j++)
		if (&a->plan.roles[j] != r)
			k = j;
	return k < a->plan.n_roles ? a->idle[k].pid : 0;
}

/* The first [nats] server's port, for the bridge's control probe. */
static int first_nats_port(const struct topology *t)
{
	struct nats_url urls[NATS_URLS_MAX];
	char why[160];
	return t->nats.servers && nats_urls_parse(t->nats.servers, urls, why, sizeof(why)) > 0 ? urls[0].port : 0;
}

void audit_fd_gap(const struct run_plan *p, const struct role_plan *r, long *from, long *to)
{
	*from = *to = 0;
	if (r->kind == ROLE_BRIDGE) {
		*from = BRIDGE_FD_LANE_STATE(p->n_lanes);
		*to = BRIDGE_FD_LANE(0);
	}
}

static void fill_env(struct audit *a)
{
	const struct topology *t = a->plan.t;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->listen_addr;
	for (size_t k = 0; k < a->plan.n_roles; k++) {
		const struct role_plan *r = &a->plan.roles[k];
		/* another provider's key: the next one (or the first) */
		size_t other = r->kind == ROLE_PROVIDER ? (r->provider + 1) % t->n_providers : 0;
		snprintf(a->other_key[k], sizeof(a->other_key[k]), "%s/%s", t->providers[other].keys, KEYS_SECRET_NAME);
		a->env[k] = (struct probe_env){
			/* a provider's sandbox for the intermediary, the intermediary's for the others */
			.victim_pid = victim_of(a, r),
			.nats_port = first_nats_port(t),
			.listen_port = ntohs(sin->sin_port), /* the port sits at the same offset for IPv6 */
			.host_port = a->host_port,
			.other_key = a->other_key[k],
			.ledger = t->ledger,
			.topology = t->path,
			.n_fds = (long)r->spec.n_keep,
			.status_fd = ROLE_FD_FIRST + (int)r->spec.status_index,
			.nproc = r->spec.limits ? (unsigned long)r->spec.limits->nproc : 0,
			.self_name = r->kind == ROLE_PROVIDER ? t->providers[r->provider].name : NULL,
			.other_name = t->providers[other].name,
		};
		a->env[k].lane_reader = a->env[k].lane_writer = -1;
		audit_fd_gap(&a->plan, r, &a->env[k].fd_gap_from, &a->env[k].fd_gap_to);
		for (size_t l = r->kind == ROLE_BRIDGE ? a->plan.n_lanes : 0; l-- > 0;)
			*(a->plan.lanes[l].dir == LANE_OUT ? &a->env[k].lane_reader : &a->env[k].lane_writer) =
				BRIDGE_FD_LANE(l);
		if (r->kind == ROLE_PROVIDER) {
			a->env[k].own_policy = r->policy_in_sandbox;
			a->env[k].has_state = t->providers[r->provider].state != NULL;
			a->env[k].program_rules = r->cfg.pv.program_rules;
			a->env[k].n_program_rules = r->cfg.pv.n_program_rules;
			a->env[k].program_landlock_weakened = r->cfg.pv.weaken_program_landlock;
		}
	}
}

/* A listener on 127.0.0.1 in the supervisor's (the host's) network
 * namespace: what a probe that escapes the role's network would reach. */
static int open_host_service(struct audit *a, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	a->host_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->host_listener < 0 || bind(a->host_listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(a->host_listener, 16) < 0 || getsockname(a->host_listener, (struct sockaddr *)&sa, &len) < 0) {
		snprintf(err, errlen, "the audit's host service on 127.0.0.1: %s", strerror(errno));
		return -1;
	}
	a->host_port = ntohs(sa.sin_port);
	return 0;
}

int audit_run(const struct topology *t, const struct audit_options *o)
{
	struct audit *a = calloc(1, sizeof(*a));
	char err[1024] = "";
	int status = 2;
	if (!a) {
		log_error("audit: out of memory");
		return 2;
	}
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		a->idle[k].pidfd = -1;
	a->seclog.fd = -1;
	if (seccomp_log_open(&a->seclog, err, sizeof(err)) < 0)
		log_warn("audit: %s: seccomp kills will show as SIGSYS without the syscall's name", err);
	if (open_host_service(a, err, sizeof(err)) < 0 || plan_prepare(&a->plan, t, err, sizeof(err)) < 0) {
		if (a->host_listener >= 0)
			close(a->host_listener);
		log_error("audit: %s", err);
		free(a);
		return 2;
	}
	for (size_t k = 0; k < a->plan.n_roles; k++)
		a->log[k].label = a->plan.roles[k].label;
	if ((!o->policy_dir || audit_surface_use_policies(&a->plan, o->policy_dir, err, sizeof(err)) == 0) &&
	    audit_apply_weakenings(&a->plan, o, err, sizeof(err)) == 0 && audit_start_idle(a, err, sizeof(err)) == 0) {
		fill_env(a);
		/* the surface section comes last: a wrong policy may shut the listener */
		if (audit_host_checks(a, err, sizeof(err)) == 0 && audit_run_probes(a, err, sizeof(err)) == 0 &&
		    audit_differential(a, err, sizeof(err)) == 0 &&
		    (o->n_weaken || audit_surface_run(&a->plan, a->env, &a->seclog, &a->surface, err, sizeof(err)) == 0)) {
			audit_mark_weakened(a);
			status = audit_report(a, o);
		}
	}
	if (status == 2 && err[0])
		log_error("audit: %s", err);
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		audit_reap(&a->idle[k]);
	audit_forward_logs(a);
	for (size_t k = 0; k < a->plan.n_roles; k++)
		role_log_flush(&a->log[k], 2);
	plan_release(&a->plan);
	close(a->host_listener);
	seccomp_log_close(&a->seclog);
	audit_surface_free(a->surface);
	free(a->rows);
	free(a);
	return status;
}
