/* SPDX-License-Identifier: Apache-2.0 */
/* The rows of roles/provider/policy_keys.c are the one home of every
 * provider policy key: docs/PROVIDER-POLICY.md's table is generated from
 * them and must match, and the parser holds each number to its row. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../roles/provider/policy.h"
#include "../../roles/provider/policy_keys.h"
#include "../common/harness.h"

Test(unit_policy_keys, the_doc_table_is_the_generated_one)
{
	char *want = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);
	cr_assert_eq(policy_keys_doc(f, DOC_MARKDOWN), 0);
	fclose(f);
	const char *why = NULL;
	char *got = srcdir_file_between("docs/PROVIDER-POLICY.md", "<!-- policy-keys: generated",
					"<!-- policy-keys: end -->", &why);
	cr_assert_not_null(got, "docs/PROVIDER-POLICY.md: %s", why);
	cr_assert_str_eq(got, want, "docs/PROVIDER-POLICY.md's key table differs from the rows; paste the output of "
				    "`build/mpbs-gen-man --markdown provider-policy-keys` between its markers");
	free(got);
	free(want);
}

/* A policy file of one key (and the required accept_context). */
static int load_with(const char *line, char *err, size_t errlen)
{
	char path[] = "/tmp/mpbs-policy-keys-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	dprintf(fd, "accept_context = CTX\n%s\n", line);
	close(fd);
	struct provider_policy p;
	int rc = provider_policy_load(&p, path, err, errlen);
	if (rc == 0)
		provider_policy_free(&p);
	unlink(path);
	return rc;
}

Test(unit_policy_keys, every_row_is_whole_and_the_parser_holds_a_number_to_it)
{
	char line[128], err[512];
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++) {
		const struct policy_key_row *k = &policy_keys[i];
		cr_assert(k->name && k->value && k->doc, "row %zu is not whole", i);
		cr_assert(!strchr(k->doc, '|') && !strchr(k->doc, '\n'), "%s: one line of doc, no '|'", k->name);
		if (!k->number)
			continue;
		cr_assert(k->dflt_doc || (k->dflt >= k->min && k->dflt <= k->max), "%s: default out of range", k->name);
		snprintf(line, sizeof(line), "%s = %u", k->name, k->max);
		cr_assert_eq(load_with(line, err, sizeof(err)), 0, "%s: %s", line, err);
		snprintf(line, sizeof(line), "%s = %llu", k->name, (unsigned long long)k->max + 1);
		cr_assert_eq(load_with(line, err, sizeof(err)), -1, "%s accepted", line);
		cr_assert_not_null(strstr(err, "expected an integer from"), "%s", err);
		if (k->min > 0) {
			snprintf(line, sizeof(line), "%s = %u", k->name, k->min - 1);
			cr_assert_eq(load_with(line, err, sizeof(err)), -1, "%s accepted", line);
		}
	}
}
