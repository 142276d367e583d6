/* SPDX-License-Identifier: Apache-2.0 */
/* The key table (runner/topology_keys.c) is the one home of every topology
 * key: the README's table is generated from it and must match, each row's
 * default must be a value its own parser accepts, and the parser must hold
 * a value to the row's range. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runner/topology.h"
#include "../../runner/topology_keys.h"
#include "../../runner/topology_values.h"
#include "../common/harness.h"

Test(unit_topology_keys, the_readme_table_is_the_generated_one)
{
	char *want = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);
	cr_assert_eq(topo_reference_markdown(f), 0);
	fclose(f);
	const char *why = NULL;
	char *got = srcdir_file_between("README.md", "<!-- topology-keys: generated", "<!-- topology-keys: end -->", &why);
	cr_assert_not_null(got, "README.md's key table: %s", why);
	cr_assert_str_eq(got, want,
			 "README.md's key table differs from `mpbs-run --print-keys`; paste its output between the markers");
	free(got);
	free(want);
}

/* Scratch structs large enough for any section's fields. */
struct scratch {
	struct topology t;
	struct topo_provider p;
	struct topo_limits l;
};

static void *base_of(struct scratch *s, const struct topo_key *k)
{
	if (k->section == TOPO_SECTION_EVERY_ROLE)
		return &s->l;
	if (k->section >= 0 && role_kinds[k->section].per_provider)
		return &s->p;
	return &s->t;
}

Test(unit_topology_keys, every_row_is_whole_and_its_default_parses)
{
	static struct scratch s;
	char msg[512];
	for (size_t i = 0; i < topo_n_keys; i++) {
		const struct topo_key *k = &topo_keys[i];
		cr_assert(k->section >= TOPO_SECTION_NATS && k->section <= TOPO_SECTION_EVERY_ROLE, "%s", k->name);
		cr_assert(k->doc && *k->doc && !strchr(k->doc, '\n') && !strchr(k->doc, '|'),
			  "%s: one line of doc, no '|'", k->name);
		cr_assert((k->dflt != NULL) != (k->dflt_doc != NULL), "%s: a default or a word on it, not both",
			  k->name);
		cr_assert(!k->required || k->type == TOPO_PATH, "%s: required keys are paths (topology_check.c)",
			  k->name);
		for (size_t j = 0; j < i; j++)
			cr_assert(strcmp(topo_keys[j].name, k->name) != 0 || !topo_key_in_section(&topo_keys[j], k->section),
				  "%s twice in one section", k->name);
		if (k->dflt)
			cr_assert_eq(topo_set_value(k, base_of(&s, k), "/", k->dflt, msg, sizeof(msg)), 0,
				     "%s = %s: %s", k->name, k->dflt, msg);
	}
	for (int sec = TOPO_SECTION_NATS; sec < TOPO_SECTION_EVERY_ROLE; sec++) {
		size_t n = 0;
		for (size_t i = 0; i < topo_n_keys; i++)
			n += topo_key_in_section(&topo_keys[i], sec);
		cr_assert_leq(n, TOPO_SECTION_KEYS_MAX, "section %d has %zu keys", sec, n);
	}
	topology_free(&s.t);
}

Test(unit_topology_keys, the_parser_holds_a_number_to_its_row)
{
	static struct scratch s;
	char msg[512], v[32];
	for (size_t i = 0; i < topo_n_keys; i++) {
		const struct topo_key *k = &topo_keys[i];
		if (k->type != TOPO_UINT)
			continue;
		void *base = base_of(&s, k);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->max);
		cr_assert_eq(topo_set_value(k, base, "/", v, msg, sizeof(msg)), 0, "%s = %s: %s", k->name, v, msg);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->max + 1);
		cr_assert_eq(topo_set_value(k, base, "/", v, msg, sizeof(msg)), -1, "%s = %s accepted", k->name, v);
		cr_assert_not_null(strstr(msg, "expected an integer from"), "%s", msg);
		if (k->min > 0) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)k->min - 1);
			cr_assert_eq(topo_set_value(k, base, "/", v, msg, sizeof(msg)), -1, "%s = %s accepted", k->name, v);
		}
	}
}

Test(unit_topology_keys, section_titles_come_from_the_role_table)
{
	char t[64];
	topo_section_title(TOPO_SECTION_RUNNER, t, sizeof(t));
	cr_assert_str_eq(t, "[runner]");
	topo_section_title(ROLE_ASSOCIATION, t, sizeof(t));
	cr_assert_str_eq(t, "[association]");
	topo_section_title(ROLE_PROVIDER, t, sizeof(t));
	cr_assert_str_eq(t, "[provider NAME]");
	topo_section_title(TOPO_SECTION_EVERY_ROLE, t, sizeof(t));
	cr_assert_str_eq(t, "every role section");
}
