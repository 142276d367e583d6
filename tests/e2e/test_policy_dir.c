/* SPDX-License-Identifier: Apache-2.0 */
/* Which seccomp policy directory the real binary reads (runner/plan.c): a
 * policy/ folder beside its parent folder is taken only when the build-tree
 * marker sits beside the binary, as the Makefile leaves it in build/ and
 * `make install` never does; a copy of the binary without the marker reads
 * the directory compiled in, whatever lies next to it. Needs no root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/harness.h"

static char tree[] = "/tmp/mpbs-policy-dir-XXXXXX";
static char bin[PATH_MAX];

/* TREE/bin/mpbs-run, a copy of the binary under test, and TREE/policy/
 * holding the shipped intermediary policy: a layout that looks like a
 * build tree but has no marker. */
static void make_tree(void)
{
	char dir[PATH_MAX], policy[PATH_MAX], src[PATH_MAX];
	cr_assert_not_null(mkdtemp(tree));
	snprintf(dir, sizeof(dir), "%s/bin", tree);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/policy", tree);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/bin/mpbs-run", tree);
	snprintf(policy, sizeof(policy), "%s/policy/intermediary.policy", tree);
	snprintf(src, sizeof(src), "%s/policy/intermediary.policy", mpbs_srcdir());
	char *cp_bin[] = { "cp", (char *)mpbs_binary(), bin, NULL };
	char *cp_policy[] = { "cp", src, policy, NULL };
	cr_assert_eq(run_cmd(cp_bin, NULL), 0);
	cr_assert_eq(run_cmd(cp_policy, NULL), 0);
}

static void remove_tree(void)
{
	char *rm[] = { "rm", "-rf", tree, NULL };
	run_cmd(rm, NULL);
}

TestSuite(e2e_policy_dir, .init = make_tree, .fini = remove_tree, .timeout = 60);

/* The first line of --print-policy names the file it read. */
static char *first_line_of_print_policy(int *status)
{
	char *out = NULL;
	char *argv[] = { bin, "--print-policy", "intermediary", NULL };
	*status = run_cmd(argv, &out);
	cr_assert_not_null(out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

Test(e2e_policy_dir, a_policy_folder_beside_a_binary_without_the_marker_is_not_read)
{
	int status;
	char *line = first_line_of_print_policy(&status);
	cr_assert_null(strstr(line, tree), "read the policy/ beside an unmarked binary: %s", line);
	free(line);
}

Test(e2e_policy_dir, the_marker_makes_it_a_build_tree_that_reads_its_own_policies)
{
	char marker[PATH_MAX + 32], want[PATH_MAX + 64];
	snprintf(marker, sizeof(marker), "%s/bin/.mpbs-build-tree", tree);
	cr_assert_eq(write_text_file(marker, "build tree\n"), 0);
	snprintf(want, sizeof(want), "seccomp policy %s/policy/intermediary.policy,", tree);
	int status;
	char *line = first_line_of_print_policy(&status);
	cr_assert_eq(status, 0, "%s", line);
	cr_assert_not_null(strstr(line, want), "want '%s' in: %s", want, line);
	free(line);
}

Test(e2e_policy_dir, a_marker_that_is_not_a_file_does_not_count)
{
	char marker[PATH_MAX + 32];
	snprintf(marker, sizeof(marker), "%s/bin/.mpbs-build-tree", tree);
	cr_assert_eq(mkdir(marker, 0755), 0);
	int status;
	char *line = first_line_of_print_policy(&status);
	cr_assert_null(strstr(line, tree), "a directory named like the marker counted: %s", line);
	free(line);
}
