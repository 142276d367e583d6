/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_ledger_cat: `mpbs-run ledger cat --jsonl` prints, byte for byte, what
 * the tests read as a ledger (tests/common/harness.h ledger_jsonl): one
 * walk and one JSON form of a record for both. On a generated ledger of
 * several segments that rotate mid-batch, so that segment records state
 * open epochs, uncovered signals and carried operations. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmd.h"
#include "../common/harness.h"
#include "../common/ledger2_gen.h"

struct cat_ledger {
	char dir[64], ledger[128];
	struct gen_ledger g;
};

static void make(struct cat_ledger *c)
{
	char err[512];
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/mpbs-e2e-cat-XXXXXX");
	cr_assert_not_null(mkdtemp(c->dir));
	snprintf(c->ledger, sizeof(c->ledger), "%s/ledger", c->dir);
	c->g = (struct gen_ledger){ .path = c->ledger, .n_providers = 3, .ops = 400, .batch = 32,
				    .segment_size = 16 * 1024, .rotate_phases = GEN_AT_SIGNALS | GEN_AT_CHECKPOINT,
				    .seed = 23 };
	gen_ledger_keys(&c->g);
	cr_assert_eq(gen_ledger_write(&c->g, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(c->g.segments, 3);
}

static void cleanup(struct cat_ledger *c)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	cr_assert_eq(system(cmd), 0);
}

/* The first byte where a and b differ, for the message. */
static size_t differ_at(const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

Test(e2e_ledger_cat, jsonl_is_byte_for_byte_what_the_tests_read)
{
	struct cat_ledger c;
	struct cmd_result r;
	make(&c);
	char *want = ledger_jsonl(c.ledger);
	cr_assert_not_null(want);
	/* the segment records state what rotation left open */
	cr_assert(strstr(want, "\"uncovered\":[{\"op\""), "no uncovered signal stated in any segment record");
	cr_assert(strstr(want, "\"carried\":[{\"op\""), "no carried operation stated in any segment record");
	char *argv[] = { (char *)mpbs_binary(), "ledger", "cat", "--jsonl", c.ledger, NULL };
	cmd_run(&r, NULL, (uid_t)-1, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	size_t at = differ_at(r.out, want);
	cr_assert(strcmp(r.out, want) == 0, "they differ at byte %zu:\ncat:   %.200s\ntests: %.200s", at, r.out + at,
		  want + at);
	cmd_result_free(&r);

	/* the segment files named, oldest first: the same lines */
	char files[8][160];
	char *list[12] = { (char *)mpbs_binary(), "ledger", "cat", "--jsonl" };
	size_t n = 4;
	for (uint32_t s = 1; s < c.g.segments && n < 10; s++) {
		snprintf(files[s - 1], sizeof(files[s - 1]), "%s.%06u", c.ledger, s);
		list[n++] = files[s - 1];
	}
	list[n++] = c.ledger;
	list[n] = NULL;
	cr_assert_eq(n - 4, c.g.segments, "more segments than the test lists");
	cmd_run(&r, NULL, (uid_t)-1, list);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, want);
	cmd_result_free(&r);
	free(want);
	cleanup(&c);
}

Test(e2e_ledger_cat, text_has_a_line_per_record_and_the_segment_states)
{
	struct cat_ledger c;
	struct cmd_result r;
	make(&c);
	char *argv[] = { (char *)mpbs_binary(), "ledger", "cat", c.ledger, NULL };
	cmd_run(&r, NULL, (uid_t)-1, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	uint64_t records = 0;
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"))
		records += line[0] == '#';
	cr_assert_eq(records, c.g.records);
	cmd_result_free(&r);
	cmd_run(&r, NULL, (uid_t)-1, argv);
	cr_assert(strstr(r.out, "\n  states:\n    provider=p0 open=true epoch="), "%.600s", r.out);
	cr_assert(strstr(r.out, "\n  carried:\n    op="), "%.600s", r.out);
	cmd_result_free(&r);
	cleanup(&c);
}
