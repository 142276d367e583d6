/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's host-side checks of what a role must not inherit from the
 * supervisor it was forked from: supplementary groups, environment,
 * stderr. The audit runs under a hostile inheritance (groups 0, 6, 42, a
 * marker variable, stderr a regular file): without weakening every such
 * row holds; each test-only weakening (groups:, env:, stderr:ROLE) turns
 * exactly its own row of that role VIOLATED. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/harness.h"

static struct mpbs m;
static char json_path[PATH_MAX + 16], out_path[PATH_MAX + 16];

static const char *const hygiene_ids[] = { "host.no-supplementary-groups", "host.empty-environ", "host.own-stderr" };

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "temporary topology");
	snprintf(json_path, sizeof(json_path), "%s/audit.json", m.dir);
	snprintf(out_path, sizeof(out_path), "%s/audit.out", m.dir);
}

static void teardown(void)
{
	mpbs_cleanup(&m);
}

/* Runs the audit (with an optional weakening) as a careless parent would
 * start it; returns its exit status and the parsed JSON report. */
static int audit(const char *weaken, json_t **report)
{
	static const gid_t groups[] = { 0, 6, 42 };
	unlink(json_path);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || setgroups(3, groups) < 0 ||
		    setenv("MPBS_SECRET_MARKER", "audit-hygiene", 1) < 0)
			_exit(127);
		if (weaken)
			execl(mpbs_binary(), mpbs_binary(), "--audit", "--json", json_path, "--audit-weaken", weaken,
			      m.topology, (char *)NULL);
		else
			execl(mpbs_binary(), mpbs_binary(), "--audit", "--json", json_path, m.topology, (char *)NULL);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*report = json_load_file(json_path, 0, NULL);
	cr_assert_not_null(*report, "no JSON report (output in %s)", out_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool is_hygiene(const char *id)
{
	for (size_t i = 0; i < sizeof(hygiene_ids) / sizeof(hygiene_ids[0]); i++)
		if (strcmp(id, hygiene_ids[i]) == 0)
			return true;
	return false;
}

/* Every row is VIOLATED exactly when it is row `id` of `role` (NULL: none
 * may be); every role has each hygiene row. Returns the number violated. */
static size_t check_rows(const json_t *report, const char *role, const char *id)
{
	const json_t *results = json_object_get(report, "results"), *row;
	size_t i, violated = 0, hygiene = 0;
	cr_assert(json_is_array(results), "no results in the report");
	json_array_foreach(results, i, row) {
		const char *r = json_string_value(json_object_get(row, "role"));
		const char *rid = json_string_value(json_object_get(row, "id"));
		const char *verdict = json_string_value(json_object_get(row, "verdict"));
		cr_assert(r && rid && verdict, "row %zu is incomplete", i);
		bool guarded = role && strcmp(r, role) == 0 && strcmp(rid, id) == 0;
		cr_assert_str_eq(verdict, guarded ? "VIOLATED" : "ENFORCED", "%s %s: got %s", r, rid,
				 json_string_value(json_object_get(row, "got")));
		violated += guarded;
		hygiene += is_hygiene(rid);
	}
	cr_assert_eq(hygiene, 5 * sizeof(hygiene_ids) / sizeof(hygiene_ids[0]), "%zu hygiene rows for 5 roles",
		     hygiene);
	return violated;
}

static const char *got_of(const json_t *report, const char *role, const char *id)
{
	const json_t *results = json_object_get(report, "results"), *row;
	size_t i;
	json_array_foreach(results, i, row)
		if (strcmp(json_string_value(json_object_get(row, "role")), role) == 0 &&
		    strcmp(json_string_value(json_object_get(row, "id")), id) == 0)
			return json_string_value(json_object_get(row, "got"));
	return NULL;
}

Test(iso_audit_hygiene, every_hygiene_row_holds_under_a_hostile_inheritance, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	int rc = audit(NULL, &report);
	cr_assert_eq(rc, 0, "audit exited %d (output in %s)", rc, out_path);
	cr_assert_eq(check_rows(report, NULL, NULL), 0);
	json_decref(report);
}

Test(iso_audit_hygiene, with_the_supervisors_groups_the_groups_check_fails, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	cr_assert_eq(audit("groups:intermediary", &report), 1, "output in %s", out_path);
	cr_assert_eq(check_rows(report, "intermediary", "host.no-supplementary-groups"), 1);
	cr_assert_str_eq(got_of(report, "intermediary", "host.no-supplementary-groups"), "0 6 42");
	json_decref(report);
}

Test(iso_audit_hygiene, with_the_supervisors_environment_the_environ_check_fails, .init = setup,
     .fini = teardown, .timeout = 120)
{
	json_t *report = NULL;
	cr_assert_eq(audit("env:A", &report), 1, "output in %s", out_path);
	cr_assert_eq(check_rows(report, "provider A", "host.empty-environ"), 1);
	const char *got = got_of(report, "provider A", "host.empty-environ");
	cr_assert(got && strstr(got, "variables"), "got %s", got);
	cr_assert_null(strstr(got, "audit-hygiene"), "the report shows a variable's value: %s", got);
	json_decref(report);
}

Test(iso_audit_hygiene, with_the_supervisors_stderr_the_stderr_check_fails, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	cr_assert_eq(audit("stderr:association", &report), 1, "output in %s", out_path);
	cr_assert_eq(check_rows(report, "association", "host.own-stderr"), 1);
	cr_assert_str_eq(got_of(report, "association", "host.own-stderr"), "the supervisor's stderr");
	json_decref(report);
}
