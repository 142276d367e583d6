/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_segments: the supervisor's side of the ledger's segment files with
 * the real mpbs-run (runner/segments.c): what it refuses at start. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/harness.h"

#define EX_CONFIG 78

static struct mpbs m;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0, "temporary topology");
}

static void teardown(void)
{
	mpbs_cleanup(&m);
}

TestSuite(e2e_segments, .init = setup, .fini = teardown, .timeout = 60);

/* `mpbs-run <topology>` to completion (a run that is not refused gets
 * SIGTERM after 10 s: status 124). */
static int run(char **out)
{
	char *argv[] = { "timeout", "-s", "TERM", "10", (char *)mpbs_binary(), m.topology, NULL };
	return run_cmd(argv, out);
}

Test(e2e_segments, a_version_1_ledger_is_refused_with_exit_78_and_its_upgrade_path)
{
	static const char v1[] = "{\"seq\":1,\"type\":\"start\",\"provider\":\"A\"}\n";
	cr_assert_eq(write_text_file(m.ledger, v1), 0);
	char *out = NULL;
	int rc = run(&out);
	cr_assert_eq(rc, EX_CONFIG, "status %d: %s", rc, out);
	char want[2 * PATH_MAX + 128];
	snprintf(want, sizeof(want), "ledger %s is a version 1 ledger (JSON Lines)", m.ledger);
	cr_assert_not_null(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "`mpbs-run verify %s --topology TOPOLOGY`, then `mpbs-run ledger upgrade %s`",
		 m.ledger, m.ledger);
	cr_assert_not_null(strstr(out, want), "%s", out);
	size_t len;
	char *kept = read_file(m.ledger, &len);
	cr_assert_eq(len, strlen(v1), "the version 1 ledger was changed");
	cr_assert_eq(memcmp(kept, v1, len), 0);
	free(kept);
	char next[PATH_MAX + 8];
	snprintf(next, sizeof(next), "%s.next", m.ledger);
	struct stat st;
	cr_assert(stat(next, &st) < 0, "a spare was made beside a refused ledger");
	free(out);
}

Test(e2e_segments, a_missing_live_segment_after_sealed_ones_is_refused_with_exit_78)
{
	char sealed[PATH_MAX + 16];
	snprintf(sealed, sizeof(sealed), "%s.000001", m.ledger);
	cr_assert_eq(write_text_file(sealed, "MPBSLDG2"), 0);
	char *out = NULL;
	int rc = run(&out);
	cr_assert_eq(rc, EX_CONFIG, "status %d: %s", rc, out);
	cr_assert_not_null(strstr(out, "is missing while sealed segments exist up to"), "%s", out);
	struct stat st;
	cr_assert(stat(m.ledger, &st) < 0, "a fresh live segment was made: it would restart the chain");
	free(out);
}
