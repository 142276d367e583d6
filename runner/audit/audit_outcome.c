/* SPDX-License-Identifier: Apache-2.0 */
/* The four outcomes of an audit row and their counts: ENFORCED (the check
 * ran and held), VIOLATED (it ran and failed), WEAKENED (a --rootless run
 * lacks the layer: runner/rootless.c) and UNOBSERVED (a normal user's
 * audit cannot see it, from the host or from the live sandbox's report). Only VIOLATED
 * fails the audit; only ENFORCED and VIOLATED count in a role's score. */
#include "audit_internal.h"

/* Only the intermediary's and the association's ipc, uts and cgroup
 * namespaces (and their user namespace against the other roles') are left
 * so: no --audit-weaken word removes those namespaces, so no audit that
 * weakened a layer reports that layer here. */
const char audit_unobserved_why[] =
	"not seen by this audit: /proc/PID/ns of a non-dumpable role needs ptrace access, which only CAP_SYS_PTRACE "
	"in the initial user namespace grants (a role is a clone of the supervisor, its memory belongs to that "
	"namespace), and this role's sandbox has no /proc in which the audit's probe could read its "
	"own; spawn creates these namespaces as it does for root; the root audit checks it";

enum audit_outcome audit_row_outcome(const struct audit_row *r)
{
	if (r->unobserved)
		return AUDIT_UNOBSERVED;
	if (r->weakened)
		return AUDIT_WEAKENED;
	return r->ok ? AUDIT_ENFORCED : AUDIT_VIOLATED;
}

const char *audit_outcome_name(enum audit_outcome o)
{
	static const char *const names[AUDIT_OUTCOMES] = {
		[AUDIT_ENFORCED] = "ENFORCED",
		[AUDIT_VIOLATED] = "VIOLATED",
		[AUDIT_WEAKENED] = "WEAKENED",
		[AUDIT_UNOBSERVED] = "UNOBSERVED",
	};
	return o < AUDIT_OUTCOMES ? names[o] : "?";
}

void audit_count_outcomes(const struct audit_row *rows, size_t n, size_t counts[AUDIT_OUTCOMES])
{
	for (int o = 0; o < AUDIT_OUTCOMES; o++)
		counts[o] = 0;
	for (size_t i = 0; i < n; i++)
		counts[audit_row_outcome(&rows[i])]++;
}
