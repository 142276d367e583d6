/* SPDX-License-Identifier: Apache-2.0 */
/* How the audit tells roles apart: the PROBE_ROLE_* bit a role's probes
 * and argument surface rows name, the seccomp policy file it runs under,
 * and the names --audit-weaken takes. */
#include "audit_internal.h"

#include <string.h>

/* The probe table's bits follow the role table's policies in order
 * (probe.h; tests/unit/test_role_table.c holds them together). */
unsigned audit_probe_role(const struct role_plan *r)
{
	return 1u << role_policy_index(r->kind, r->policy_variant);
}

const char *audit_policy_file(const struct role_plan *r)
{
	return role_kinds[r->kind].policy[r->policy_variant];
}

bool audit_role_named(const struct run_plan *p, size_t k, const char *name)
{
	const struct role_plan *r = &p->roles[k];
	const struct role_kind_def *def = &role_kinds[r->kind];
	return strcmp(name, def->name) == 0 ||
	       (def->per_provider && strcmp(name, p->t->providers[r->provider].name) == 0);
}
