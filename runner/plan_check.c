/* SPDX-License-Identifier: Apache-2.0 */
/* What `mpbs-run -t` checks beyond the topology file, before any role would
 * start, so that a topology it passes does not fail at the run's start on a
 * file it could have named: every seccomp policy a run loads (the run's own
 * loader, runner/plan.c) and each provider's policy as that provider will
 * parse it (its own parser, roles/provider/policy.c, in the host's view),
 * and what a --rootless run cannot honour. */
#include "plan.h"

#include <stdio.h>

#include "../roles/provider/policy.h"
#include "rootless.h"
#include "seccomp.h"

int plan_check_weakened(const struct topology *t, char *err, size_t errlen)
{
	if ((t->weakened & WEAKENED_CGROUPS) && t->require_cgroups) {
		snprintf(err, errlen, "require_cgroups = yes in [runner]: a rootless run has no cgroup limits "
			 "(runner/rootless.c); set it to no, or run as root");
		return -1;
	}
	return 0;
}

int plan_check(const struct topology *t, char *err, size_t errlen)
{
	struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS];
	if (plan_check_weakened(t, err, errlen) < 0 || plan_load_policies(policy, err, errlen) < 0)
		return -1;
	plan_free_policies(policy);
	for (size_t i = 0; i < t->n_providers; i++) {
		const struct topo_provider *tp = &t->providers[i];
		if (!host_part_here(t, ROLE_PROVIDER, i))
			continue; /* on another host: checked there, with --host */
		/* A provider's policy is its private authority: parsed here only
		 * to say what is wrong with it, then freed. Its token key is not
		 * read (the host's view), and its programs' paths are the
		 * sandbox's: the provider checks those when it loads it. */
		const struct policy_read how = { .keys_dir = tp->keys, .host_view = true, .provider = tp->name,
						 .receive_body = tp->receive_body, .exec = tp->exec };
		struct provider_policy pol;
		if (provider_policy_read(&pol, tp->policy, &how, err, errlen) < 0)
			return -1;
		provider_policy_free(&pol);
	}
	return 0;
}
