/* SPDX-License-Identifier: Apache-2.0 */
/* Rootless mode's one list (runner/rootless.c): the ids a role gets, which
 * audit rows it weakens, and that the docs name every entry of it; the
 * audit's four outcomes (runner/audit/audit_outcome.c) and their counts. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runner/audit/audit_internal.h"
#include "../../runner/audit/probe.h"
#include "../../runner/cli.h"
#include "../../runner/rootless.h"
#include "../common/harness.h"

Test(unit_rootless, every_entry_is_whole_and_the_bits_are_distinct)
{
	unsigned bits = 0;
	cr_assert_gt(rootless_n_weakenings, 0);
	for (size_t i = 0; i < rootless_n_weakenings; i++) {
		const struct weakening *w = &rootless_weakenings[i];
		cr_assert(w->name && *w->name && w->why && *w->why, "entry %zu: a name and a reason", i);
		cr_assert_eq(bits & w->bit, 0, "%s: its bit is another entry's", w->name);
		bits |= w->bit;
	}
	cr_assert_eq(rootless_weakened_bits(), bits);
}

Test(unit_rootless, role_ids_are_per_role_unless_host_ids_are_weakened)
{
	struct topology t = { .uid_base = 300000 };
	uid_t uid, gid;
	rootless_role_ids(&t, ROLE_PROVIDER, 2, &uid, &gid);
	cr_assert_eq(uid, role_host_uid(300000, ROLE_PROVIDER, 2, 3));
	cr_assert_eq(gid, uid);
	t.weakened = WEAKENED_APPEND_ONLY | WEAKENED_CGROUPS;
	rootless_role_ids(&t, ROLE_ASSOCIATION, 0, &uid, &gid);
	cr_assert_eq(uid, role_host_uid(300000, ROLE_ASSOCIATION, 0, 3), "only WEAKENED_HOST_IDS changes the ids");
	t.weakened = rootless_weakened_bits();
	rootless_role_ids(&t, ROLE_PROVIDER, 2, &uid, &gid);
	cr_assert(uid == geteuid() && gid == getegid(), "rootless: the caller's ids, %u:%u", (unsigned)uid,
		  (unsigned)gid);
}

Test(unit_rootless, audit_rows_weaken_by_mechanism_only_in_a_rootless_run)
{
	unsigned all = rootless_weakened_bits();
	cr_assert_null(rootless_weakening_of(0, 1u << MECH_USERNS), "a root run weakens nothing");
	cr_assert_null(rootless_weakening_of(0, 1u << MECH_INODE_FLAG));
	cr_assert_not_null(rootless_weakening_of(all, 1u << MECH_USERNS));
	cr_assert_not_null(rootless_weakening_of(all, 1u << MECH_INODE_FLAG));
	cr_assert_null(rootless_weakening_of(WEAKENED_HOST_IDS, 1u << MECH_INODE_FLAG));
	static const enum probe_mechanism holds[] = { MECH_SECCOMP, MECH_LANDLOCK, MECH_NETNS, MECH_MNTNS,
						      MECH_PIDNS,   MECH_CAPS,     MECH_NNP,   MECH_NAMESPACES };
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]); i++)
		cr_assert_null(rootless_weakening_of(all, 1u << holds[i]), "%s still holds rootless",
			       probe_mechanism_name(holds[i]));
}

Test(unit_rootless, the_docs_name_every_weakened_layer)
{
	static const char *const docs[] = { "docs/CLAIMS.md", "README.md" };
	for (size_t d = 0; d < 2; d++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", mpbs_srcdir(), docs[d]);
		char *text = read_file(path, NULL);
		cr_assert_not_null(text, "%s", path);
		for (char *c = text; *c; c++) /* a name may wrap across lines */
			if (*c == '\n')
				*c = ' ';
		for (size_t i = 0; i < rootless_n_weakenings; i++)
			cr_assert_not_null(strstr(text, rootless_weakenings[i].name), "%s does not name '%s'", docs[d],
					   rootless_weakenings[i].name);
		free(text);
	}
}

Test(unit_rootless, the_option_reaches_the_run_options)
{
	char *with[] = { "mpbs-run", "--rootless", "t.conf", NULL }, *without[] = { "mpbs-run", "t.conf", NULL };
	struct cli c;
	char err[256];
	cr_assert_eq(cli_parse(3, with, &c, err, sizeof(err)), CLI_OK, "%s", err);
	cr_assert(c.run.rootless);
	cr_assert_eq(cli_parse(2, without, &c, err, sizeof(err)), CLI_OK, "%s", err);
	cr_assert_not(c.run.rootless, "a run is rootless only when asked");
}

Test(unit_rootless, a_row_has_one_of_four_outcomes_unobserved_first)
{
	const struct weakening *w = &rootless_weakenings[0];
	struct audit_row held = { .ok = true }, failed = { .ok = false };
	struct audit_row weak_held = { .ok = true, .weakened = w }, weak_failed = { .ok = false, .weakened = w };
	struct audit_row unseen = { .ok = false, .unobserved = true }, unseen_weak = { .unobserved = true, .weakened = w };
	cr_assert_eq(audit_row_outcome(&held), AUDIT_ENFORCED);
	cr_assert_eq(audit_row_outcome(&failed), AUDIT_VIOLATED);
	cr_assert_eq(audit_row_outcome(&weak_held), AUDIT_WEAKENED, "a weakened layer is no verdict, held or not");
	cr_assert_eq(audit_row_outcome(&weak_failed), AUDIT_WEAKENED);
	cr_assert_eq(audit_row_outcome(&unseen), AUDIT_UNOBSERVED, "an unobserved row never counts as violated");
	cr_assert_eq(audit_row_outcome(&unseen_weak), AUDIT_UNOBSERVED);
	cr_assert_str_eq(audit_outcome_name(AUDIT_ENFORCED), "ENFORCED");
	cr_assert_str_eq(audit_outcome_name(AUDIT_VIOLATED), "VIOLATED");
	cr_assert_str_eq(audit_outcome_name(AUDIT_WEAKENED), "WEAKENED");
	cr_assert_str_eq(audit_outcome_name(AUDIT_UNOBSERVED), "UNOBSERVED");
	cr_assert_str_eq(audit_outcome_name(AUDIT_OUTCOMES), "?");
}

Test(unit_rootless, outcomes_are_counted_apart)
{
	const struct weakening *w = &rootless_weakenings[1];
	struct audit_row rows[] = {
		{ .ok = true },
		{ .ok = true },
		{ .ok = false },
		{ .ok = false, .weakened = w },
		{ .ok = true, .weakened = w },
		{ .unobserved = true },
		{ .unobserved = true, .ok = true },
		{ .unobserved = true, .weakened = w },
	};
	size_t counts[AUDIT_OUTCOMES] = { 99, 99, 99, 99 };
	audit_count_outcomes(rows, sizeof(rows) / sizeof(rows[0]), counts);
	cr_assert_eq(counts[AUDIT_ENFORCED], 2);
	cr_assert_eq(counts[AUDIT_VIOLATED], 1);
	cr_assert_eq(counts[AUDIT_WEAKENED], 2);
	cr_assert_eq(counts[AUDIT_UNOBSERVED], 3);
	audit_count_outcomes(rows, 0, counts);
	for (int o = 0; o < AUDIT_OUTCOMES; o++)
		cr_assert_eq(counts[o], 0, "no rows, no count of %s", audit_outcome_name((enum audit_outcome)o));
	cr_assert(strstr(audit_unobserved_why, "ptrace") && strstr(audit_unobserved_why, "root audit"), "%s",
		  audit_unobserved_why);
}
