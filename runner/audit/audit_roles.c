/* How the audit tells roles apart: the PROBE_ROLE_* bit a role's probes
 * and argument surface rows name, the seccomp policy file it runs under,
 * and the names --audit-weaken takes. */
#include "audit_internal.h"

#include <string.h>

unsigned audit_probe_role(const struct role_plan *r)
{
	return r->kind == ROLE_INTERMEDIARY ? PROBE_ROLE_INTERMEDIARY
	     : r->kind == ROLE_ASSOCIATION  ? PROBE_ROLE_ASSOCIATION
	     : r->cfg.pv.exec		    ? PROBE_ROLE_PROVIDER_EXEC
					    : PROBE_ROLE_PROVIDER;
}

const char *audit_policy_file(const struct role_plan *r)
{
	switch (audit_probe_role(r)) {
	case PROBE_ROLE_INTERMEDIARY: return "intermediary.policy";
	case PROBE_ROLE_ASSOCIATION: return "association.policy";
	case PROBE_ROLE_PROVIDER: return "provider.policy";
	default: return "provider-exec.policy";
	}
}

bool audit_role_named(const struct run_plan *p, size_t k, const char *name)
{
	const struct role_plan *r = &p->roles[k];
	if (r->kind == ROLE_INTERMEDIARY)
		return strcmp(name, "intermediary") == 0;
	if (r->kind == ROLE_ASSOCIATION)
		return strcmp(name, "association") == 0;
	return strcmp(name, "provider") == 0 || strcmp(name, p->t->providers[r->provider].name) == 0;
}
