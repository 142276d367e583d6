/* SPDX-License-Identifier: Apache-2.0 */
#include "role_table.h"

#include <stdio.h>
#include <string.h>

#include "../roles/association/association.h"
#include "bridge_exec.h"
#include "../roles/intermediary/intermediary.h"
#include "../roles/provider/provider.h"
#include "../roles/role_counters.h"
#include "plan.h"

/* Each role's program takes its own configuration struct. */
static int enter_intermediary(void *cfg, const struct role_seal *s) { return intermediary_main(cfg, s); }
static int enter_association(void *cfg, const struct role_seal *s) { return association_main(cfg, s); }
static int enter_provider(void *cfg, const struct role_seal *s) { return provider_main(cfg, s); }
static int enter_bridge(void *cfg, const struct role_seal *s) { return bridge_exec(cfg, s); }

/* The stop order: the intermediary first, so nothing new comes in; then the
 * providers, which drain their artifact channels into signals; then a
 * host part's bridge, which carries what is left in its channels across;
 * the association last, so it records every signal they sent. */
const struct role_kind_def role_kinds[ROLE_KINDS] = {
	[ROLE_INTERMEDIARY] = {
		.name = "intermediary", .comm = "mpbs-int", .policy = { "intermediary", NULL },
		.uid_offset = 0, .stop_phase = 1,
		.rlimits = { .nofile = 64, .nproc = 1, .per_connection = true,
			     .why_as = "every connection may hold a whole body" },
		.counters = &role_counters_intermediary,
		.plan = plan_intermediary, .entry = enter_intermediary,
	},
	[ROLE_ASSOCIATION] = {
		.name = "association", .comm = "mpbs-assoc", .policy = { "association", NULL },
		.uid_offset = 1, .stop_phase = 4, .drains_at_stop = true, .writes_ledger = true,
		.rlimits = { .nofile = 256, .nproc = 2, .why_nproc = "its fsync thread" },
		.counters = &role_counters_association,
		.plan = plan_association, .entry = enter_association,
	},
	[ROLE_PROVIDER] = {
		.name = "provider", .comm = "mpbs-p-", .policy = { "provider", "provider-exec" },
		.uid_offset = 2, .per_provider = true, .net_lo = true, .stop_phase = 2, .drains_at_stop = true,
		.keeps_journal = true, .may_be_given_up = true,
		.rlimits = { .nofile = 1024, .nproc = 1, .why_nofile = "up to 256 handlers, 2 fds each",
			     .why_as = "its programs included", .why_fsize = "files in `/state`" },
		.counters = &role_counters_provider,
		.plan = plan_provider, .entry = enter_provider,
	},
	/* It keeps no journal of its own making, but on the association's host
	 * it holds what it wrote to the association's signal channels and
	 * writes it again when asked, as a provider sends its journal. */
	[ROLE_BRIDGE] = {
		.name = "bridge", .comm = "mpbs-bridge", .policy = { "bridge", NULL },
		.uid_offset = 2, .across_hosts = true, .host_network = true, .stop_phase = 3, .drains_at_stop = true,
		.keeps_journal = true,
		/* below its lane channels (fd 512 and up, placed before the
		 * limit): no fd it makes can take a lane's number */
		.rlimits = { .nofile = 512, .nproc = 32, .why_nofile = "below its lanes' fds", .why_nproc = "threads" },
		.counters = &role_counters_bridge,
		.plan = plan_bridge, .entry = enter_bridge,
	},
};

unsigned role_stop_phases(void)
{
	unsigned most = 0;
	for (size_t k = 0; k < ROLE_KINDS; k++)
		if (role_kinds[k].stop_phase > most)
			most = role_kinds[k].stop_phase;
	return most;
}

uid_t role_host_uid(unsigned uid_base, enum role_kind kind, size_t index, size_t n_providers)
{
	const struct role_kind_def *def = &role_kinds[kind];
	return uid_base + def->uid_offset + (def->per_provider ? (unsigned)index : 0) +
	       (def->across_hosts ? (unsigned)n_providers : 0);
}

unsigned role_uid_count(size_t n_providers, bool with_bridge)
{
	unsigned count = 0;
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		if (role_kinds[k].across_hosts && !with_bridge)
			continue;
		const struct role_kind_def *def = &role_kinds[k];
		unsigned end = def->uid_offset + (def->per_provider ? (unsigned)n_providers : 1) +
			       (def->across_hosts ? (unsigned)n_providers : 0);
		if (end > count)
			count = end;
	}
	return count;
}

int role_policy_index(enum role_kind kind, enum policy_variant variant)
{
	int index = 0;
	for (size_t k = 0; k < ROLE_KINDS; k++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++) {
			if (!role_kinds[k].policy[v])
				continue;
			if (k == (size_t)kind && v == variant)
				return index;
			index++;
		}
	return -1;
}

int role_policy_by_name(const char *name, enum policy_variant *variant)
{
	for (size_t k = 0; k < ROLE_KINDS; k++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++)
			if (role_kinds[k].policy[v] && strcmp(role_kinds[k].policy[v], name) == 0) {
				*variant = v;
				return (int)k;
			}
	return -1;
}

const char *role_policy_names(void)
{
	static char names[256];
	size_t used = 0;
	names[0] = '\0';
	for (size_t k = 0; k < ROLE_KINDS; k++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++)
			if (role_kinds[k].policy[v] && used < sizeof(names))
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
							 role_kinds[k].policy[v]);
	return names;
}
