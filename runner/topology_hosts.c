/* SPDX-License-Identifier: Apache-2.0 */
/* The checks of a topology spread over hosts (runner/host_part.h): every
 * role names its host part, [nats] says how the parts reach each other,
 * `--host` names one of them, and what one part cannot make for another
 * (a provider's demo keys, whose public half the association's host needs)
 * is refused before anything starts. */
#include "topology_parse.h"

#include <stdio.h>
#include <string.h>

#include "../lib/wire.h"
#include "host_part.h"

static int need_host(struct parse *p, struct section_state *s, const char *host)
{
	if (host)
		return 0;
	return fail_at(p, line_origin(s->line), s, "host",
		       "missing: once one role sets host, every role must (the topology is spread over hosts)");
}

static int check_every_role_has_a_host(struct parse *p)
{
	struct topology *t = p->t;
	if (need_host(p, &p->role[ROLE_INTERMEDIARY], t->intermediary_host) < 0 ||
	    need_host(p, &p->role[ROLE_ASSOCIATION], t->association_host) < 0)
		return -1;
	for (size_t i = 0; i < t->n_providers; i++)
		if (need_host(p, &p->prov[i], t->providers[i].host) < 0)
			return -1;
	return 0;
}

static int check_nats_section(struct parse *p)
{
	struct topology *t = p->t;
	struct section_state *s = &p->nats;
	if (!t->nats.servers)
		return fail_at(p, line_origin(s->line), s, "servers", "missing: a topology spread over hosts needs its NATS servers");
	if (!t->nats.credentials)
		return fail_at(p, line_origin(s->line), s, "credentials",
			       "missing: a topology spread over hosts needs a directory of NATS passwords");
	/* a NATS message carries whole channel messages, each with a 4-byte
	 * length: the largest artifact must fit one */
	uint64_t largest = (uint64_t)ARTIFACT_FRAME_MAX(t->max_request) + 4;
	if (t->nats.batch_bytes < largest)
		return fail_at(p, origin_of(s, "batch_bytes"), s, "batch_bytes",
			       "%llu is less than the largest artifact with its length (%llu, from [intermediary] "
			       "max_request = %zu)",
			       (unsigned long long)t->nats.batch_bytes, (unsigned long long)largest, t->max_request);
	if ((t->nats.tls_cert != NULL) != (t->nats.tls_key != NULL))
		return fail_at(p, origin_of(s, t->nats.tls_cert ? "tls_cert" : "tls_key"), s,
			       t->nats.tls_cert ? "tls_cert" : "tls_key", "tls_cert and tls_key go together");
	return 0;
}

/* The association checks every checkpoint with the provider's public key,
 * read on its own host: a pair generated on the provider's host at its
 * first start would not be there. */
static int check_remote_keys(struct parse *p)
{
	struct topology *t = p->t;
	for (size_t i = 0; i < t->n_providers; i++)
		if (t->providers[i].demo_keys && !host_part_same(t->providers[i].host, t->association_host))
			return fail_at(p, origin_of(&p->prov[i], "demo_keys"), &p->prov[i], "demo_keys",
				       "not on another host than the association's (%s), which needs the public key: make "
				       "the pair with `mpbs-run keygen DIR` and copy signal.pub there",
				       t->association_host);
	return 0;
}

static int check_this_host(struct parse *p)
{
	struct topology *t = p->t;
	const char *names[2 + TOPO_PROVIDERS_MAX];
	size_t n = host_part_names(t, names, sizeof(names) / sizeof(names[0]));
	for (size_t k = 0; k < n; k++)
		if (strcmp(names[k], p->host) == 0)
			return 0;
	char list[512] = "";
	for (size_t k = 0; k < n; k++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "", names[k]);
	return fail_at(p, ORIGIN_NONE, NULL, NULL, "--host %s: no role runs there (its host parts: %s)", p->host, list);
}

int topology_check_hosts(struct parse *p)
{
	struct topology *t = p->t;
	if (!host_part_spread(t)) {
		if (p->host)
			return fail_at(p, ORIGIN_NONE, NULL, NULL,
				       "--host %s: no role sets host, so the topology runs on one host", p->host);
		return 0;
	}
	if (check_every_role_has_a_host(p) < 0 || check_nats_section(p) < 0 || check_remote_keys(p) < 0)
		return -1;
	if (p->host) {
		if (check_this_host(p) < 0)
			return -1;
		snprintf(t->this_host, sizeof(t->this_host), "%s", p->host);
	}
	return 0;
}
