/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's argument surface section (runner/audit/surface.c, runner/audit/audit_surface.c):
 * it runs on both shipped topologies with every row holding, a test-only
 * policy that re-allows a hostile class turns exactly that class's rows
 * VIOLATED, and a syscall added to a policy without a row fails the
 * coverage rule. Needs root. */
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

/* Runs the audit on topology (with --set overrides when shipped), with
 * policies from policy_dir if given; returns its exit status and the
 * parsed report. */
static int audit(const char *topology, bool shipped, const char *policy_dir, json_t **report, char **out)
{
	return mpbs_audit(&m, topology, shipped, NULL, policy_dir, report, out);
}

static const char *field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));
	cr_assert_not_null(v, "a surface row without %s", key);
	return v;
}

static const json_t *surface_results(const json_t *report)
{
	const json_t *results = json_object_get(json_object_get(report, "surface"), "results");
	cr_assert(json_is_array(results), "no surface section in the report");
	return results;
}

/* Every surface row holds, the section reviewed every policy kind of the
 * topology, and each kind's hostile rows ran (not only NO CLASS rows). */
static void assert_section_holds(const char *conf, const char *const *kinds, size_t n_kinds)
{
	char path[PATH_MAX];
	json_t *report = NULL;
	char *out = NULL;
	snprintf(path, sizeof(path), "%s/contrib/topologies/%s", mpbs_srcdir(), conf);
	int rc = audit(path, true, NULL, &report, &out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	const json_t *results = surface_results(report), *row;
	size_t i, run = 0;
	json_array_foreach(results, i, row) {
		const char *verdict = field(row, "verdict"), *cls = field(row, "class");
		cr_assert(strcmp(verdict, "ENFORCED") == 0 || strcmp(verdict, "REVIEWED") == 0, "%s %s: %s, got %s",
			  field(row, "role"), field(row, "id"), verdict, field(row, "got"));
		cr_assert_str_neq(cls, "COVERAGE", "%s: %s", field(row, "role"), field(row, "got"));
		run += strcmp(cls, "NO CLASS") != 0;
	}
	for (size_t k = 0; k < n_kinds; k++) {
		bool seen = false;
		json_array_foreach(results, i, row)
			seen |= strcmp(field(row, "id"), kinds[k]) == 0;
		cr_assert(seen, "%s: no row %s", conf, kinds[k]);
	}
	cr_assert_gt(run, 100, "only %zu cases ran", run);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(report, "surface"), "violated")), 0);
	cr_assert_eq(rc, 0, "audit of %s failed: %s", conf, out);
	json_decref(report);
	free(out);
}

Test(iso_audit_surface, holds_on_the_reference_topology, .init = setup, .fini = teardown, .timeout = 120)
{
	/* one row each of the intermediary, the association and a provider */
	static const char *const kinds[] = { "surface.shutdown.listener-rd", "surface.fcntl.ledger-clear-append",
					     "surface.sendmmsg.fastopen" };
	assert_section_holds("reference.conf", kinds, 3);
}

Test(iso_audit_surface, holds_on_the_hardened_topology, .init = setup, .fini = teardown, .timeout = 120)
{
#ifdef MPBS_SANITIZED
	cr_skip_test("hardened.conf limits each role to 512M of address space: ASan cannot map its shadow memory");
#endif
	/* and of a provider that runs programs */
	static const char *const kinds[] = { "surface.shutdown.listener-rd", "surface.fcntl.ledger-clear-append",
					     "surface.sendmmsg.fastopen", "surface.clone.newnet" };
	assert_section_holds("hardened.conf", kinds, 4);
}

/* A copy of the shipped policies in dir, where role's policy loses every
 * rule for the syscalls named in drop and gains the lines in add. */
static void test_policies(const char *dir, const char *role, const char *const *drop, size_t n_drop, const char *add)
{
	char cmd[PATH_MAX * 2 + 64], path[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s'/policy/*.policy '%s'/", dir, mpbs_srcdir(), dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(path, sizeof(path), "%s/%s.policy", dir, role);
	size_t len = 0;
	char *text = read_file(path, &len);
	cr_assert_not_null(text, "%s", path);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		bool dropped = false;
		for (size_t i = 0; i < n_drop; i++) {
			size_t l = strlen(drop[i]);
			dropped |= strncmp(line, drop[i], l) == 0 && (line[l] == '\0' || line[l] == ':');
		}
		if (!dropped)
			fprintf(f, "%s\n", line);
	}
	fprintf(f, "# test only\n%s", add);
	cr_assert_eq(fclose(f), 0);
	free(text);
}

/* The ids (role + id) of the VIOLATED rows of both sections. */
static json_t *violated_set(const json_t *report)
{
	json_t *set = json_object();
	const json_t *row;
	size_t i;
	json_array_foreach(json_object_get(report, "results"), i, row)
		if (strcmp(json_string_value(json_object_get(row, "verdict")), "VIOLATED") == 0)
			json_object_set_new(set, json_string_value(json_object_get(row, "id")), json_true());
	json_array_foreach(surface_results(report), i, row)
		if (strcmp(field(row, "verdict"), "VIOLATED") == 0) {
			char key[256];
			snprintf(key, sizeof(key), "%s/%s", field(row, "role"), field(row, "id"));
			json_object_set_new(set, key, json_true());
		}
	return set;
}

/* Runs the shipped policies and the test policies in dir on the same
 * topology; the test policies must add exactly the rows for which
 * expected() holds (each VIOLATED), and nothing else. Returns how many. */
static bool probe_of_same_calls(const char *id, const char *const *prefixes)
{
	for (; prefixes && *prefixes; prefixes++)
		if (strncmp(id, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

static size_t assert_flips(const char *dir, bool (*expected)(const json_t *row), const char *const *probe_prefixes)
{
	json_t *base = NULL, *weak = NULL;
	char *out = NULL;
	audit(m.topology, false, NULL, &base, &out);
	cr_assert_not_null(base, "no JSON report: %s", out);
	free(out);
	int rc = audit(m.topology, false, dir, &weak, &out);
	cr_assert_not_null(weak, "no JSON report: %s", out);
	cr_assert_eq(rc, 1, "audit with %s: %s", dir, out);
	json_t *before = violated_set(base), *after = violated_set(weak);
	const json_t *row;
	size_t i, flipped = 0;
	json_array_foreach(surface_results(weak), i, row) {
		char key[256];
		snprintf(key, sizeof(key), "%s/%s", field(row, "role"), field(row, "id"));
		bool in_after = json_object_get(after, key) != NULL, in_before = json_object_get(before, key) != NULL;
		if (expected(row)) {
			cr_assert(in_after, "%s: got %s", key, field(row, "got"));
			flipped++;
		} else {
			cr_assert_eq(in_after, in_before, "%s: %s with the test policy, got %s", key,
				     in_after ? "VIOLATED" : "ENFORCED", field(row, "got"));
		}
	}
	/* the probe section is not touched, but for the probes of the same
	 * calls (ids starting with one of probe_prefixes) */
	const char *key;
	json_t *v;
	json_object_foreach(after, key, v)
		if (!strchr(key, '/') && !probe_of_same_calls(key, probe_prefixes))
			cr_assert_not_null(json_object_get(before, key), "probe %s flipped", key);
	json_object_foreach(before, key, v)
		if (!strchr(key, '/'))
			cr_assert_not_null(json_object_get(after, key), "probe %s flipped", key);
	json_decref(before);
	json_decref(after);
	json_decref(base);
	json_decref(weak);
	free(out);
	return flipped;
}

/* Every refused-by-seccomp row of the intermediary's shutdown and getsockopt. */
static bool shutdown_or_getsockopt(const json_t *row)
{
	const char *sys = field(row, "syscall");
	return strcmp(field(row, "role"), "intermediary") == 0 && strcmp(field(row, "class"), "REFUSED") == 0 &&
	       strcmp(field(row, "mechanism"), "seccomp") == 0 &&
	       (strcmp(sys, "shutdown") == 0 || strcmp(sys, "getsockopt") == 0);
}

Test(iso_audit_surface, plain_shutdown_and_getsockopt_flip_exactly_their_rows, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char dir[PATH_MAX];
	static const char *const drop[] = { "shutdown", "getsockopt" };
	snprintf(dir, sizeof(dir), "%s/policy-weak", m.dir);
	test_policies(dir, "intermediary", drop, 2, "shutdown\ngetsockopt\n");
	/* the probe rows of the same calls flip too: net.listener-shutdown-*,
	 * net.listener-reconnect (shutdown) and chan.backlog-meminfo (getsockopt) */
	static const char *const probes[] = { "net.listener-shutdown-", "net.listener-reconnect",
					      "chan.backlog-meminfo", NULL };
	size_t flipped = assert_flips(dir, shutdown_or_getsockopt, probes);
	cr_assert_geq(flipped, 6, "only %zu rows flipped", flipped);
}

static bool coverage_of_getppid(const json_t *row)
{
	return strcmp(field(row, "role"), "association") == 0 &&
	       strcmp(field(row, "id"), "surface.coverage.getppid") == 0;
}

/* getppid has a row for provider-exec only: allowing it in the association
 * without an argument review fails the audit. */
Test(iso_audit_surface, a_syscall_without_a_row_fails_the_coverage_rule, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/policy-unreviewed", m.dir);
	test_policies(dir, "association", NULL, 0, "getppid\n");
	cr_assert_eq(assert_flips(dir, coverage_of_getppid, NULL), 1);
}

Test(iso_audit_surface, policy_dir_is_refused_outside_the_audit, .init = setup, .fini = teardown)
{
	char *argv[] = { (char *)mpbs_binary(), "--audit-policy-dir", m.dir, m.topology, NULL };
	char *out = NULL;
	cr_assert_eq(run_cmd(argv, &out), 2, "%s", out);
	cr_assert(strstr(out, "--audit-policy-dir") != NULL, "%s", out);
	free(out);
}

/* The row of a role in the surface section, or NULL. */
static const json_t *surface_row(const json_t *report, const char *role, const char *id)
{
	const json_t *row;
	size_t i;
	json_array_foreach(surface_results(report), i, row)
		if (strcmp(field(row, "role"), role) == 0 && strcmp(field(row, "id"), id) == 0)
			return row;
	return NULL;
}

/* A provider that runs programs and keeps a state directory: bytes it
 * writes there cannot be mapped executable (its /state is noexec), while
 * provider-exec.policy allows PROT_EXEC without PROT_WRITE for the loader. */
Test(iso_audit_surface, a_provider_cannot_map_what_it_wrote_in_state_executable, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char state[PATH_MAX], lines[PATH_MAX * 2 + 64];
	json_t *report = NULL;
	char *out = NULL;
	snprintf(state, sizeof(state), "%s/state-B", m.dir);
	cr_assert_eq(mkdir(state, 0700), 0);
	cr_assert_eq(chown(state, m.uid_base + 3, m.uid_base + 3), 0, "provider B's host uid (uid_base + 3)");
	snprintf(lines, sizeof(lines), "exec = yes\nexec_dir = %s/contrib/examples\nnproc = 64\nstate = %s\n",
		 mpbs_srcdir(), state);
	cr_assert_eq(topology_insert(m.topology, "provider B", lines), 0);
	audit(m.topology, false, NULL, &report, &out);
	cr_assert_not_null(report, "no JSON report: %s", out);
	const json_t *row = surface_row(report, "provider B", "surface.mmap.state-file-rx");
	cr_assert_not_null(row, "the row did not run for provider B: %s", out);
	cr_assert_str_eq(field(row, "got"), "EPERM");
	cr_assert_str_eq(field(row, "verdict"), "ENFORCED");
	cr_assert_null(surface_row(report, "provider A", "surface.mmap.state-file-rx"), "A has no state directory");
	json_decref(report);
	free(out);
}
