/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run --audit` on a temporary topology, as an evaluator runs it: all
 * probes hold on the real sandboxes, and each test-only weakening flips
 * exactly the probes of the layer it removes, in the role it removes it
 * from, and makes the audit fail. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/harness.h"
#include "../../runner/channels.h"

static struct mpbs m;
static char json_path[PATH_MAX + 16];

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "temporary topology");
	snprintf(json_path, sizeof(json_path), "%s/audit.json", m.dir);
}

static void teardown(void)
{
	mpbs_cleanup(&m);
}

/* Runs the audit with an optional weakening; returns its exit status and
 * the parsed report (NULL if none was written). */
static int audit(const char *weaken, json_t **report, char **out)
{
	return mpbs_audit(&m, NULL, false, weaken, NULL, report, out);
}

/* Every row is VIOLATED exactly when it belongs to role and mechanism
 * (role NULL: none may be violated). Returns the number violated. */
static size_t check_rows(const json_t *report, const char *role, const char *mechanism)
{
	const json_t *results = json_object_get(report, "results");
	size_t i, violated = 0;
	const json_t *row;
	cr_assert(json_is_array(results), "no results in the report");
	json_array_foreach(results, i, row) {
		const char *r = json_string_value(json_object_get(row, "role"));
		const char *mech = json_string_value(json_object_get(row, "mechanism"));
		const char *verdict = json_string_value(json_object_get(row, "verdict"));
		const char *id = json_string_value(json_object_get(row, "id"));
		cr_assert(r && mech && verdict && id, "row %zu is incomplete", i);
		bool guarded = role && strcmp(r, role) == 0 && strcmp(mech, mechanism) == 0;
		cr_assert_str_eq(verdict, guarded ? "VIOLATED" : "ENFORCED", "%s %s (%s): got %s", r, id, mech,
				 json_string_value(json_object_get(row, "got")));
		violated += guarded;
	}
	return violated;
}

/* The audit with weaken fails, and exactly n rows turn VIOLATED: those of
 * role whose mechanism is mechanism (the in-sandbox and the host check). */
static void assert_weakening_flips(const char *weaken, const char *role, const char *mechanism, size_t n)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit(weaken, &report, &out), 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	cr_assert_eq(check_rows(report, role, mechanism), n, "%s: %s of %s", weaken, mechanism, role);
	json_decref(report);
	free(out);
}

Test(iso_audit, every_probe_holds_on_the_real_sandboxes, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *report = NULL;
	char *out = NULL;
	int rc = audit(NULL, &report, &out);
	cr_assert_eq(rc, 0, "audit failed: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	cr_assert_geq(json_integer_value(json_object_get(report, "probes")), 45);
	cr_assert_eq(json_integer_value(json_object_get(report, "violated")), 0);
	cr_assert_eq(check_rows(report, NULL, NULL), 0);
	/* every seccomp kill is named by the kernel's audit record, not by
	 * anything inside the killed role */
	const json_t *row;
	size_t i, named = 0;
	json_array_foreach(json_object_get(report, "results"), i, row) {
		const char *want = json_string_value(json_object_get(row, "expected"));
		const char *got = json_string_value(json_object_get(row, "got"));
		if (!want || strcmp(want, "SIGSYS") != 0)
			continue;
		cr_assert(got && strncmp(got, "SIGSYS (", 8) == 0 && !strstr(got, "no audit record"),
			  "%s: %s", json_string_value(json_object_get(row, "id")), got);
		named++;
	}
	cr_assert_geq(named, 40, "only %zu seccomp kills", named);
	const char *c4 = json_string_value(
		json_object_get(json_object_get(json_object_get(json_object_get(report, "matrix"), "4"), "provider A"),
				"verdict"));
	cr_assert_str_eq(c4, "ENFORCED");
	json_decref(report);
	free(out);
}

Test(iso_audit, without_seccomp_in_one_provider_its_seccomp_probes_fail, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	char *out = NULL;
	int rc = audit("seccomp:B", &report, &out);
	cr_assert_eq(rc, 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	size_t flipped = check_rows(report, "provider B", "seccomp");
	cr_assert_geq(flipped, 40, "only %zu seccomp probes flipped", flipped);
	cr_assert_eq((size_t)json_integer_value(json_object_get(report, "violated")), flipped);
	json_decref(report);
	free(out);
}

Test(iso_audit, without_seccomp_in_the_intermediary_its_seccomp_probes_fail, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit("seccomp:intermediary", &report, &out), 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	cr_assert_gt(check_rows(report, "intermediary", "seccomp"), 0);
	json_decref(report);
	free(out);
}

Test(iso_audit, with_capabilities_left_the_capability_checks_fail, .init = setup, .fini = teardown,
     .timeout = 120)
{
	assert_weakening_flips("caps:association", "association", "capabilities", 2);
}

/* A provider left in the host's network namespace: exactly the two host
 * checks that look at its namespaces flip; every probe inside still holds
 * (seccomp and Landlock keep it off the network). */
Test(iso_audit, in_the_host_netns_the_namespace_checks_fail, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit("netns:B", &report, &out), 1, "audit: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	const json_t *results = json_object_get(report, "results"), *row;
	size_t i, violated = 0;
	json_array_foreach(results, i, row) {
		const char *r = json_string_value(json_object_get(row, "role"));
		const char *id = json_string_value(json_object_get(row, "id"));
		const char *verdict = json_string_value(json_object_get(row, "verdict"));
		bool guarded = strcmp(r, "provider B") == 0 &&
			       (strcmp(id, "host.namespaces") == 0 || strcmp(id, "host.netns-links") == 0);
		cr_assert_str_eq(verdict, guarded ? "VIOLATED" : "ENFORCED", "%s %s: got %s", r, id,
				 json_string_value(json_object_get(row, "got")));
		violated += guarded;
	}
	cr_assert_eq(violated, 2);
	json_decref(report);
	free(out);
}

/* A provider that keeps the supervisor's fds (no close_range): exactly the
 * in-sandbox and the host fd-table checks flip. */
Test(iso_audit, with_the_supervisors_fds_left_the_fd_table_checks_fail, .init = setup, .fini = teardown,
     .timeout = 120)
{
	assert_weakening_flips("fds:A", "provider A", "close_range", 2);
}

/* The intermediary's channels accepting passed fds again: exactly the
 * sender-side refusal flips; the receiver still discards the fd (the host
 * row holds). */
Test(iso_audit, with_passed_fds_allowed_the_scm_probe_fails, .init = setup, .fini = teardown, .timeout = 120)
{
	if (!channel_kernel_refuses_fds())
		cr_skip_test("this kernel has no SO_PASSRIGHTS (Linux 6.16+)");
	assert_weakening_flips("scm:intermediary", "intermediary", "SO_PASSRIGHTS off", 1);
}

Test(iso_audit, weakening_is_refused_outside_the_audit, .init = setup, .fini = teardown, .timeout = 30)
{
	char *argv[] = { (char *)mpbs_binary(), "--audit-weaken", "seccomp:A", m.topology, NULL };
	char *out = NULL;
	cr_assert_eq(run_cmd(argv, &out), 2);
	cr_assert(out && strstr(out, "only with --audit"), "%s", out);
	cr_assert(access(m.ledger, F_OK) != 0, "nothing may be started or created");
	free(out);
}

/* The verdict of the row with this id and role, or NULL if there is none. */
static const char *verdict_of(const json_t *report, const char *id, const char *role)
{
	const json_t *row;
	size_t i;
	json_array_foreach(json_object_get(report, "results"), i, row) {
		const char *r = json_string_value(json_object_get(row, "role"));
		const char *rid = json_string_value(json_object_get(row, "id"));
		if (r && rid && strcmp(r, role) == 0 && strcmp(rid, id) == 0)
			return json_string_value(json_object_get(row, "verdict"));
	}
	return NULL;
}

Test(iso_audit, forged_signals_are_rejected_and_passed_fds_never_arrive, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *report = NULL;
	char *out = NULL;
	cr_assert_eq(audit(NULL, &report, &out), 0, "audit failed: %s", out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	static const char *const providers[] = { "provider A", "provider B", "provider C" };
	for (size_t p = 0; p < 3; p++) {
		const char *v = verdict_of(report, "assoc.forged-signals-rejected", providers[p]);
		cr_assert(v && strcmp(v, "ENFORCED") == 0, "%s: %s", providers[p], v ? v : "no row");
	}
	const char *scm = verdict_of(report, "host.scm-rights-not-received", "intermediary");
	cr_assert(scm && strcmp(scm, "ENFORCED") == 0, "SCM_RIGHTS row: %s", scm ? scm : "no row");
	json_decref(report);
	free(out);
}
