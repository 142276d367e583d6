/* SPDX-License-Identifier: Apache-2.0 */
/* The role table (runner/role_table.c) is what the supervisor, the plan,
 * the topology and the audit read about each kind of role: every row must
 * be whole, and what others derive from it must hold. */
#include <criterion/criterion.h>

#include <string.h>

#include "../../runner/audit/probe.h"
#include "../../runner/role_table.h"

Test(unit_role_table, every_row_is_whole)
{
	unsigned writers = 0;
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		const struct role_kind_def *d = &role_kinds[k];
		cr_assert(d->name && *d->name && d->comm && *d->comm, "row %zu: a name and a process name", k);
		cr_assert_lt(strlen(d->comm) + (d->per_provider ? 1 : 0), 16, "%s: comm fits the kernel's 15 bytes", d->name);
		cr_assert_not_null(d->policy[POLICY_PLAIN], "%s: a seccomp policy", d->name);
		cr_assert(d->plan && d->entry, "%s: a wiring and an entry", d->name);
		cr_assert(d->stop_phase >= 1 && d->stop_phase <= role_stop_phases(), "%s", d->name);
		writers += d->writes_ledger;
	}
	cr_assert_eq(writers, 1, "one role writes the ledger");
	for (unsigned ph = 1; ph <= role_stop_phases(); ph++) {
		bool used = false;
		for (size_t k = 0; k < ROLE_KINDS; k++)
			used |= role_kinds[k].stop_phase == ph;
		cr_assert(used, "stop phase %u has no role", ph);
	}
}

Test(unit_role_table, host_uids_do_not_overlap_and_are_counted)
{
	const size_t n = 5;
	unsigned seen[64] = { 0 };
	for (size_t k = 0; k < ROLE_KINDS; k++)
		for (size_t i = 0; i < (role_kinds[k].per_provider ? n : 1); i++) {
			unsigned off = (unsigned)role_host_uid(1000, (enum role_kind)k, i, n) - 1000;
			cr_assert_lt(off, role_uid_count(n, true), "%s %zu: uid offset %u past the count", role_kinds[k].name,
				     i, off);
			if (!role_kinds[k].across_hosts)
				cr_assert_lt(off, role_uid_count(n, false), "%s %zu: uid offset %u past the one-host count",
					     role_kinds[k].name, i, off);
			cr_assert_eq(seen[off]++, 0, "%s %zu: uid offset %u taken twice", role_kinds[k].name, i, off);
		}
	/* one host: as before the bridge existed; a host part adds the bridge's, after the providers' */
	cr_assert_eq(role_uid_count(n, false), 2 + n);
	cr_assert_eq(role_uid_count(n, true), 3 + n);
	cr_assert_eq(role_host_uid(1000, ROLE_BRIDGE, 0, n), 1000 + 2 + n);
}

/* The audit's probe table names roles by PROBE_ROLE_* bits, 1 << the
 * policy's place in the table. */
Test(unit_role_table, the_probe_bits_follow_the_policies)
{
	cr_assert_eq(1u << role_policy_index(ROLE_INTERMEDIARY, POLICY_PLAIN), PROBE_ROLE_INTERMEDIARY);
	cr_assert_eq(1u << role_policy_index(ROLE_ASSOCIATION, POLICY_PLAIN), PROBE_ROLE_ASSOCIATION);
	cr_assert_eq(1u << role_policy_index(ROLE_PROVIDER, POLICY_PLAIN), PROBE_ROLE_PROVIDER);
	cr_assert_eq(1u << role_policy_index(ROLE_PROVIDER, POLICY_EXEC), PROBE_ROLE_PROVIDER_EXEC);
	cr_assert_eq(1u << role_policy_index(ROLE_BRIDGE, POLICY_PLAIN), PROBE_ROLE_BRIDGE);
	cr_assert_eq(role_policy_index(ROLE_INTERMEDIARY, POLICY_EXEC), -1, "the intermediary never runs programs");
	enum policy_variant v;
	cr_assert_eq(role_policy_by_name("provider-exec", &v), ROLE_PROVIDER);
	cr_assert_eq(v, POLICY_EXEC);
	cr_assert_eq(role_policy_by_name("nope", &v), -1);
	cr_assert_str_eq(role_policy_names(), "intermediary, association, provider, provider-exec, bridge");
}
