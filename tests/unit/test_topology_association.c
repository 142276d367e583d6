/* SPDX-License-Identifier: Apache-2.0 */
/* unit_topology_association: the [association] keys that guard the
 * ledger: ledger_append_only, and the association's own key. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runner/topology.h"
#include "../common/scratch.h"

static void setup(void)
{
	scratch_enter("topo-as");
	scratch_write("p.policy", "accept_context = CTX_ALPHA\n");
	cr_assert_eq(mkdir("keys", 0755), 0);
	scratch_write("keys/signal.pub", "00\n");
}

TestSuite(unit_topology_association, .init = setup, .fini = scratch_leave);

#define PROVIDER_A "[provider A]\npolicy = p.policy\nkeys = keys\n"

static int load(struct topology *t, const char *text, char *err, size_t errlen)
{
	scratch_write("t.conf", text);
	return topology_load(t, "t.conf", NULL, 0, err, errlen);
}

Test(unit_topology_association, ledger_append_only_defaults_to_required)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load(&t, PROVIDER_A, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.ledger_append_only, APPEND_ONLY_REQUIRED);
	topology_free(&t);
	cr_assert_eq(load(&t, "[association]\nledger_append_only = best-effort\n" PROVIDER_A, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(t.ledger_append_only, APPEND_ONLY_BEST_EFFORT);
	topology_free(&t);
	cr_assert_eq(load(&t, "[association]\nledger_append_only = required\n" PROVIDER_A, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(t.ledger_append_only, APPEND_ONLY_REQUIRED);
	topology_free(&t);
}

Test(unit_topology_association, ledger_append_only_refuses_anything_else_with_its_line)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load(&t, "[association]\nledger_append_only = no\n" PROVIDER_A, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "t.conf:2: [association] ledger_append_only: expected required or best-effort, "
				       "got 'no'"),
			   "%s", err);
}

Test(unit_topology_association, the_association_key_defaults_beside_the_ledger_and_is_generated)
{
	struct topology t;
	char err[1024] = "", want[PATH_MAX + 64];
	cr_assert_eq(load(&t, "[association]\nledger = data/ledger\n" PROVIDER_A, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/data/association-keys", scratch_dir);
	cr_assert_str_eq(t.association_keys, want);
	snprintf(want, sizeof(want), "%s/data/association-keys/signal.pub", scratch_dir);
	cr_assert_str_eq(t.association_public_key, want);
	cr_assert(t.association_demo_keys);
	topology_free(&t);
}

Test(unit_topology_association, provisioned_association_keys_must_exist)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load(&t, "[association]\nkeys = askeys\ndemo_keys = no\n" PROVIDER_A, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "t.conf:2: [association] keys: stat "), "%s", err);
	cr_assert_eq(mkdir("askeys", 0755), 0);
	cr_assert_eq(load(&t, "[association]\nkeys = askeys\ndemo_keys = no\n" PROVIDER_A, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "[association] public_key: stat "), "%s", err);
	scratch_write("askeys/signal.pub", "00\n");
	cr_assert_eq(load(&t, "[association]\nkeys = askeys\ndemo_keys = no\n" PROVIDER_A, err, sizeof(err)), 0, "%s",
		     err);
	topology_free(&t);
}

Test(unit_topology_association, a_providers_key_directory_is_never_the_associations)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load(&t, "[association]\nkeys = keys\n" PROVIDER_A, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "t.conf:2: [association] keys: same directory as provider A"), "%s", err);
}
