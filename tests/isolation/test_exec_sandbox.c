/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's programs, through `mpbs-run --audit` on a topology
 * whose provider B runs programs and has a state directory: nothing
 * written at run time becomes code (no memfd_create, a noexec /state), and
 * a program it execs cannot read its keys or policy file, nor see its
 * provider in /proc (hidepid=invisible; the provider is not dumpable).
 * Without the programs' Landlock domain (the test-only weakening
 * exec-landlock:B) exactly the key and policy probes turn VIOLATED;
 * without seccomp the memfd probe maps its page executable. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/harness.h"

#define UID_BASE m.uid_base /* this instance's [runner] uid_base (tests/common/harness.c) */

static struct mpbs m;
static char json_path[PATH_MAX + 16];

static void setup(void)
{
	char state[PATH_MAX + 32], lines[PATH_MAX + 128];
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "temporary topology");
	snprintf(state, sizeof(state), "%s/state-B", m.dir);
	cr_assert_eq(mkdir(state, 0700), 0);
	cr_assert_eq(chown(state, UID_BASE + 3, UID_BASE + 3), 0, "chown %s", state);
	snprintf(lines, sizeof(lines), "exec = yes\nnproc = 32\nstate = %s\n", state);
	cr_assert_eq(topology_insert(m.topology, "provider B", lines), 0);
	snprintf(json_path, sizeof(json_path), "%s/audit.json", m.dir);
}

static void teardown(void)
{
	mpbs_cleanup(&m);
}

TestSuite(iso_exec_sandbox, .init = setup, .fini = teardown, .timeout = 120);

static int audit(const char *weaken, json_t **report, char **out)
{
	return mpbs_audit(&m, NULL, false, weaken, NULL, report, out);
}

static const json_t *row_of(const json_t *report, const char *role, const char *id)
{
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(report, "results"), i, row) {
		if (strcmp(json_string_value(json_object_get(row, "role")), role) == 0 &&
		    strcmp(json_string_value(json_object_get(row, "id")), id) == 0)
			return row;
	}
	return NULL;
}

static void expect_row(const json_t *report, const char *id, const char *verdict, const char *got)
{
	const json_t *row = row_of(report, "provider B", id);
	cr_assert_not_null(row, "no row %s for provider B", id);
	cr_assert_str_eq(json_string_value(json_object_get(row, "verdict")), verdict, "%s: got %s", id,
			 json_string_value(json_object_get(row, "got")));
	if (got)
		cr_assert_str_eq(json_string_value(json_object_get(row, "got")), got, "%s", id);
}

/* Every VIOLATED row is one of ids (for provider B), and each of ids is. */
static void expect_violated_exactly(const json_t *report, const char *const *ids, size_t n)
{
	size_t i, violated = 0;
	const json_t *row;
	json_array_foreach(json_object_get(report, "results"), i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		const char *role = json_string_value(json_object_get(row, "role"));
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= strcmp(id, ids[k]) == 0 && strcmp(role, "provider B") == 0;
		const char *verdict = json_string_value(json_object_get(row, "verdict"));
		cr_assert_str_eq(verdict, listed ? "VIOLATED" : "ENFORCED", "%s %s: got %s", role, id,
				 json_string_value(json_object_get(row, "got")));
		violated += listed;
	}
	cr_assert_eq(violated, n);
}

Test(iso_exec_sandbox, no_runtime_code_and_no_keys_for_the_program)
{
	json_t *report = NULL;
	char *out = NULL;
	int rc = audit(NULL, &report, &out);
	cr_assert_eq(rc, 0, "audit failed: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	expect_violated_exactly(report, NULL, 0);
	expect_row(report, "exec.memfd-exec", "ENFORCED", "SIGSYS (memfd_create)");
	expect_row(report, "exec.state-mmap-exec", "ENFORCED", "EPERM");
	expect_row(report, "exec.map-libc-exec", "ENFORCED", "0");
	expect_row(report, "exec.program-signal-key", "ENFORCED", "EACCES");
	expect_row(report, "exec.program-policy", "ENFORCED", "EACCES");
	expect_row(report, "exec.program-provider-mem", "ENFORCED", "ENOENT");
	expect_row(report, "exec.program-reads-usr", "ENFORCED", "0");
	expect_row(report, "host.provider-mounts", "ENFORCED", "/proc ro subset=pid hidepid=invisible; /state noexec");
	cr_assert_null(row_of(report, "provider A", "exec.state-mmap-exec"), "A has no exec and no state");
	json_decref(report);
	free(out);
}

Test(iso_exec_sandbox, without_the_programs_domain_the_program_reads_the_keys)
{
	static const char *const flipped[] = { "exec.program-signal-key", "exec.program-keys-dir",
					       "exec.program-policy" };
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit("exec-landlock:B", &report, &out), 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	expect_violated_exactly(report, flipped, sizeof(flipped) / sizeof(flipped[0]));
	expect_row(report, "exec.program-signal-key", "VIOLATED", "0");
	expect_row(report, "exec.program-policy", "VIOLATED", "0");
	/* the provider stays hidden in /proc: it is not dumpable (hidepid) */
	expect_row(report, "exec.program-provider-mem", "ENFORCED", "ENOENT");
	json_decref(report);
	free(out);
}

Test(iso_exec_sandbox, the_weakening_needs_a_provider_with_exec)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit("exec-landlock:A", &report, &out), 2, "audit: %s", out);
	cr_assert_not_null(strstr(out, "no role named 'A' with exec = yes"), "%s", out);
	json_decref(report);
	free(out);
}

Test(iso_exec_sandbox, without_seccomp_the_memfd_page_is_mapped_executable)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit("seccomp:B", &report, &out), 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	expect_row(report, "exec.memfd-exec", "VIOLATED", "0");
	expect_row(report, "exec.state-mmap-exec", "ENFORCED", "EPERM"); /* the noexec mount holds alone */
	json_decref(report);
	free(out);
}
