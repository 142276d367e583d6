/* SPDX-License-Identifier: Apache-2.0 */
/* The argument surface table (runner/audit/surface.c) is well formed: a reviewer
 * who adds or edits a row gets a named failure here before any audit runs. */
#include <criterion/criterion.h>
#include <seccomp.h>
#include <string.h>

#include "../../runner/audit/surface.h"

Test(unit_surface, every_row_names_a_real_syscall_and_a_unique_id)
{
	for (size_t i = 0; i < surface_count; i++) {
		const struct surface_case *c = &surface_table[i];
		cr_assert_not_null(c->syscall, "row %zu has no syscall", i);
		cr_assert_not_null(c->id, "row %zu (%s) has no id", i, c->syscall);
		cr_assert_geq(seccomp_syscall_resolve_name(c->syscall), 0, "%s: no syscall '%s'", c->id, c->syscall);
		cr_assert_neq(c->roles, 0u, "%s concerns no role", c->id);
		cr_assert_eq(c->roles & ~(PROBE_ROLE_ALL | PROBE_ROLE_BRIDGE), 0u, "%s: unknown role bits", c->id);
		for (size_t j = 0; j < i; j++)
			cr_assert(strcmp(surface_table[j].id, c->id) != 0 || !(surface_table[j].roles & c->roles),
				  "%s appears twice for one role", c->id);
	}
}

Test(unit_surface, every_expectation_says_what_it_rests_on)
{
	for (size_t i = 0; i < surface_count; i++) {
		const struct surface_case *c = &surface_table[i];
		switch (c->expect) {
		case SURFACE_NO_CLASS:
			cr_assert(c->why && *c->why, "%s: a row without a hostile class needs its reason", c->id);
			cr_assert(!c->act && !c->action, "%s: a NO CLASS row is not run", c->id);
			break;
		case SURFACE_ALLOWED:
			cr_assert(c->why && *c->why, "%s: an allowed case needs the reason it must be", c->id);
			break;
		case SURFACE_REFUSED:
			cr_assert(c->action && *c->action, "%s: no action text", c->id);
			/* beneath seccomp, the exact errno: a malformed call must not pass */
			cr_assert(c->mech == MECH_SECCOMP || c->code > 0, "%s: refused by %s with which errno?", c->id,
				  probe_mechanism_name(c->mech));
			break;
		}
		/* a row without an action of its own runs exactly the call it reviews */
		if (c->act == NULL && c->expect != SURFACE_NO_CLASS)
			cr_assert_eq(c->nr, seccomp_syscall_resolve_name(c->syscall), "%s: runs another syscall than %s",
				     c->id, c->syscall);
	}
}
