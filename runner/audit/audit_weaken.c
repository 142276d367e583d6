/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The audit's test-only weakenings (--audit-weaken LAYER:ROLE): one layer
 * taken off the roles named, to show that the audit notices. */
#include "audit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/log.h"

/* Each layer's word in --audit-weaken and in the warning. */
static const struct {
	const char *word;
	const char *what;
} weaken_layers[] = {
	[AUDIT_WEAKEN_SECCOMP] = { "seccomp", "seccomp" },
	[AUDIT_WEAKEN_CAPS] = { "caps", "capabilities" },
	[AUDIT_WEAKEN_NETNS] = { "netns", "network namespace" },
	[AUDIT_WEAKEN_SCM] = { "scm", "SO_PASSRIGHTS on the reader ends it writes to" },
	[AUDIT_WEAKEN_GROUPS] = { "groups", "supplementary groups" },
	[AUDIT_WEAKEN_ENV] = { "env", "environment" },
	[AUDIT_WEAKEN_STDERR] = { "stderr", "own stderr" },
	[AUDIT_WEAKEN_EXEC_LANDLOCK] = { "exec-landlock", "its programs' Landlock domain" },
	[AUDIT_WEAKEN_FDS] = { "fds", "closing the fds it was not given" },
};

const char *audit_weaken_words(void)
{
	static char words[256];
	size_t used = 0;
	for (size_t i = 0; i < sizeof(weaken_layers) / sizeof(weaken_layers[0]) && used < sizeof(words); i++)
		used += (size_t)snprintf(words + used, sizeof(words) - used, "%s%s", i ? " " : "", weaken_layers[i].word);
	return words;
}

int audit_parse_weakening(const char *spec, struct audit_weakening *w, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : 0;
	for (size_t l = 0; colon && l < sizeof(weaken_layers) / sizeof(weaken_layers[0]); l++)
		if (strlen(weaken_layers[l].word) == n && strncmp(spec, weaken_layers[l].word, n) == 0) {
			*w = (struct audit_weakening){ (enum audit_layer)l, colon + 1 };
			if (!*w->role) {
				snprintf(err, errlen, "--audit-weaken %s: no role named", spec);
				return -1;
			}
			return 0;
		}
	snprintf(err, errlen, "--audit-weaken %s: expected LAYER:ROLE, LAYER one of: %s", spec, audit_weaken_words());
	return -1;
}

/* Whether the plan hands fd to role r (so it holds that channel end). */
static bool role_keeps(const struct role_plan *r, int fd)
{
	for (size_t i = 0; i < r->spec.n_keep; i++)
		if (r->keep[i] == fd)
			return true;
	return false;
}

static int weaken_role(struct run_plan *p, size_t k, enum audit_layer layer)
{
	struct role_plan *r = &p->roles[k];
	switch (layer) {
	case AUDIT_WEAKEN_SECCOMP:
		r->spec.weaken_no_seccomp = true;
		return 0;
	case AUDIT_WEAKEN_CAPS:
		r->spec.weaken_keep_caps = true;
		return 0;
	case AUDIT_WEAKEN_NETNS:
		r->spec.weaken_host_netns = true;
		return 0;
	case AUDIT_WEAKEN_GROUPS:
		r->spec.weaken_keep_groups = true;
		return 0;
	case AUDIT_WEAKEN_ENV:
		r->spec.weaken_keep_env = true;
		return 0;
	case AUDIT_WEAKEN_STDERR:
		r->spec.weaken_shared_stderr = true;
		return 0;
	case AUDIT_WEAKEN_FDS:
		r->spec.weaken_keep_fds = true;
		return 0;
	case AUDIT_WEAKEN_EXEC_LANDLOCK:
		r->cfg.pv.weaken_program_landlock = true;
		return 0;
	case AUDIT_WEAKEN_SCM:
		/* the channels this role writes to accept passed fds again */
		for (size_t i = 0; i < p->t->n_providers; i++) {
			struct channel *c[] = { &p->artifact[i], &p->signal[i] };
			for (size_t j = 0; j < sizeof(c) / sizeof(c[0]); j++)
				if (role_keeps(r, c[j]->writer) && channel_allow_passed_fds(c[j]) < 0)
					return -1;
		}
		return 0;
	}
	return 0;
}

int audit_apply_weakenings(struct run_plan *p, const struct audit_options *o, char *err, size_t errlen)
{
	for (size_t w = 0; w < o->n_weaken; w++) {
		size_t hit = 0;
		for (size_t k = 0; k < p->n_roles; k++) {
			if (!audit_role_named(p, k, o->weaken[w].role))
				continue;
			/* the programs' domain exists only in a role that runs programs */
			if (o->weaken[w].layer == AUDIT_WEAKEN_EXEC_LANDLOCK && p->roles[k].policy_variant != POLICY_EXEC)
				continue;
			hit++;
			if (weaken_role(p, k, o->weaken[w].layer) < 0) {
				snprintf(err, errlen, "--audit-weaken: %s", strerror(errno));
				return -1;
			}
		}
		if (!hit) {
			snprintf(err, errlen, "--audit-weaken: no role named '%s'%s", o->weaken[w].role,
				 o->weaken[w].layer == AUDIT_WEAKEN_EXEC_LANDLOCK ? " with exec = yes" : "");
			return -1;
		}
		log_warn("audit: weakening %s of %s (test only)", weaken_layers[o->weaken[w].layer].what,
			 o->weaken[w].role);
	}
	return 0;
}
