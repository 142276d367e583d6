/* SPDX-License-Identifier: Apache-2.0 */
/* The checks of a topology spread over hosts (runner/host_part.h): every
 * role names its host part, [nats] says how the parts reach each other,
 * `--host` names one of them, and what one part cannot make for another
 * (a provider's demo keys, whose public half the association's host needs)
 * is refused before anything starts. */
#include "../bridge/fd_floor.h"
#include "topology_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/errbuf.h"
#include "../lib/landlock.h"
#include "../lib/log.h"
#include "../lib/nats_names.h"
#include "../lib/wire.h"
#include "host_part.h"
#include "nats_urls.h"

/* A warning placed as fail_at places an error ("FILE:LINE: [nats] KEY:
 * ..."), one line on stderr. Only a load that checks everything warns
 * (-t, a run, SIGHUP's re-check): verify, keys and nats-config read the
 * file for its names and would repeat it. */
static void warn_at(struct parse *p, const struct section_state *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn_at(struct parse *p, const struct section_state *s, const char *key, const char *fmt, ...)
{
	if (p->flags != 0)
		return;
	struct origin o = origin_of(s, key);
	char setting[256], line[1024];
	struct err_where w = { .file = p->t->path, .line = o.line, .section = s->label, .key = key };
	if (o.override >= 0) {
		snprintf(setting, sizeof(setting), "--set %s", p->overrides[o.override]);
		w = (struct err_where){ .file = setting };
	}
	va_list ap;
	va_start(ap, fmt);
	err_vat(line, sizeof(line), &w, fmt, ap);
	va_end(ap);
	log_warn("%s", line);
}

static int need_host(struct parse *p, struct section_state *s, const char *host)
{
	if (host)
		return 0;
	return fail_at(p, line_origin(s->line), s, "host",
		       "missing: once one role sets host, every role must (the topology is spread over hosts)");
}

/* nats-config names the administrator's password file admin.password and
 * its NATS user mpbs-admin: a part of that name would share both. */
static int check_host_name(struct parse *p, struct section_state *s, const char *host)
{
	if (strcmp(host, NATS_ADMIN_NAME) != 0)
		return 0;
	return fail_at(p, origin_of(s, "host"), s, "host",
		       "'%s' is reserved: `mpbs-run nats-config` gives that name to the NATS administrator (%s, "
		       "%s.password); name the part otherwise",
		       host, NATS_ADMIN_USER, NATS_ADMIN_NAME);
}

static int need_good_host(struct parse *p, struct section_state *s, const char *host)
{
	return need_host(p, s, host) < 0 || check_host_name(p, s, host) < 0 ? -1 : 0;
}

static int check_every_role_has_a_host(struct parse *p)
{
	struct topology *t = p->t;
	if (need_good_host(p, &p->role[ROLE_INTERMEDIARY], t->intermediary_host) < 0 ||
	    need_good_host(p, &p->role[ROLE_ASSOCIATION], t->association_host) < 0)
		return -1;
	for (size_t i = 0; i < t->n_providers; i++)
		if (need_good_host(p, &p->prov[i], t->providers[i].host) < 0)
			return -1;
	return 0;
}

/* The bridge sends its password on connect: over tls:// only with the CA
 * it checks the server with, and never to a list that mixes in nats://,
 * where a reconnect would fall back to cleartext. In clear beyond loopback
 * it crosses the network readable: allowed (a private network may be the
 * operator's choice), said. */
static int check_servers(struct parse *p)
{
	struct section_state *s = &p->nats;
	struct nats_url u[NATS_URLS_MAX];
	char why[160];
	int n = nats_urls_parse(p->t->nats.servers, u, why, sizeof(why));
	if (n < 0) /* its row parsed it already */
		return fail_at(p, origin_of(s, "servers"), s, "servers", "%s", why);
	int tls = -1, clear = -1, remote = -1; /* the first of each */
	for (int k = n - 1; k >= 0; k--) {
		if (u[k].tls)
			tls = k;
		else
			clear = k;
		if (!u[k].tls && !u[k].loopback)
			remote = k;
	}
	if (tls >= 0 && clear >= 0)
		return fail_at(p, origin_of(s, "servers"), s, "servers",
			       "%s and %s: all tls:// or all nats://, not both (a reconnect to a nats:// server would "
			       "send the password in clear)",
			       u[clear].text, u[tls].text);
	if (tls >= 0 && !p->t->nats.tls_ca)
		return fail_at(p, origin_of(s, "servers"), s, "servers",
			       "%s needs tls_ca, the CA certificates the bridge checks the servers with", u[tls].text);
	if (remote >= 0)
		warn_at(p, s, "servers",
			"%s is not a loopback address: the bridge's password crosses the network in clear "
			"(tls:// with tls_ca does not)",
			u[remote].text);
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
	/* its filter tells its own sockets from its lanes by number: the
	 * limit keeps every fd it makes below the lanes' (bridge/fd_floor.h) */
	if (t->limits[ROLE_BRIDGE].nofile > BRIDGE_FD_CHANNELS)
		return fail_at(p, origin_of(&p->role[ROLE_BRIDGE], "nofile"), &p->role[ROLE_BRIDGE], "nofile",
			       "%llu is over %d: the bridge's own fds must stay below its lanes' (fd %d and up)",
			       (unsigned long long)t->limits[ROLE_BRIDGE].nofile, BRIDGE_FD_CHANNELS, BRIDGE_FD_CHANNELS);
	return check_servers(p);
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

/* The part runs here: where its bridge runs, this kernel must confine its
 * TCP connect to the NATS ports, or the operator must have said not to
 * care (runner/host_part.h). */
static int check_bridge_confined(struct parse *p)
{
	struct lane lanes[2 * TOPO_PROVIDERS_MAX];
	char msg[512];
	if (host_part_lanes(p->t, lanes) == 0)
		return 0;
	int rc = host_part_bridge_admitted(landlock_abi_version(), p->t->nats.allow_any_tcp_port, msg, sizeof(msg));
	if (rc < 0)
		return fail_at(p, origin_of(&p->nats, "allow_any_tcp_port"), &p->nats, "allow_any_tcp_port", "%s", msg);
	if (rc > 0)
		warn_at(p, &p->nats, "allow_any_tcp_port", "%s", msg);
	return 0;
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
		if (check_bridge_confined(p) < 0)
			return -1;
	}
	return 0;
}
