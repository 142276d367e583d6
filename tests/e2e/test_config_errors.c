/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* e2e_config_errors: a configuration error no restart repairs, through the
 * real binary. `-t` names it (file, line, key) and exits 78 before anything
 * starts: a provider's policy as the provider would parse it, a seccomp
 * policy that is not there. A run meeting the same policy at its start
 * refuses to start with 78, without restarting the provider and leaving no
 * process behind; met at a later restart, the provider is given up on, the
 * others go on, and the run still ends with 78. Only pids this process
 * started are ever signalled. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cmd.h"
#include "../common/harness.h"

#define TYPO_POLICY "accept_context = CTX_ALPHA\nfrobnicate = 1\n"

static struct mpbs m;
static char tree[] = "/tmp/mpbs-config-errors-XXXXXX";
static bool tree_made;

static void finish(void)
{
	mpbs_cleanup(&m);
	if (tree_made) {
		char *rm[] = { "rm", "-rf", tree, NULL };
		run_cmd(rm, NULL);
	}
}

TestSuite(e2e_config_errors, .fini = finish, .timeout = 120);

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

static void write_policy(const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.policy", m.dir, name);
	cr_assert_eq(write_text_file(path, text), 0, "%s", path);
}

static void check(const char *binary, struct cmd_result *r)
{
	char *argv[] = { (char *)binary, "-t", m.topology, NULL };
	cmd_run(r, m.dir, (uid_t)-1, argv);
}

Test(e2e_config_errors, check_names_a_bad_key_of_a_provider_policy)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0);
	write_policy("B", TYPO_POLICY);
	struct cmd_result r;
	check(mpbs_binary(), &r);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s/B.policy:2: frobnicate: unknown key\n", m.dir);
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, want), "no '%s' in: %s", want, r.err);
	cr_assert_eq(cmd_count_lines(r.err), 1, "%s", r.err);
	cr_assert_str_empty(r.out, "OK printed: %s", r.out);
	cmd_result_free(&r);

	/* what the policy asks of the topology, on its line */
	write_policy("B", "accept_context = CTX_ALPHA\nevaluator = /exec/evaluator.sh\n");
	check(mpbs_binary(), &r);
	snprintf(want, sizeof(want), "%s/B.policy:2: evaluator: a program, but the topology does not let this "
		 "provider run programs (set exec = yes in its [provider B] section)", m.dir);
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, want), "no '%s' in: %s", want, r.err);
	cmd_result_free(&r);

	/* A token key is the provider's secret, made at the run's start with
	 * demo_keys: -t neither needs nor reads nor writes it. */
	write_policy("B", "accept_context = CTX_ALPHA\nrequire_token = yes\ntoken_key = token.key\n");
	check(mpbs_binary(), &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, ": OK (2 providers)"), "%s", r.out);
	cmd_result_free(&r);
	char keys[PATH_MAX + 16];
	struct stat st;
	snprintf(keys, sizeof(keys), "%s/keys", m.dir);
	cr_assert_neq(stat(keys, &st), 0, "-t wrote keys");
}

/* TREE/build/mpbs-run with the build-tree marker beside it and TREE/policy/
 * holding every shipped policy but one: it reads that folder (runner/plan.c). */
static void tree_without(const char *missing, char *bin, size_t len)
{
	char path[PATH_MAX + 64], src[PATH_MAX];
	cr_assert_not_null(mkdtemp(tree));
	tree_made = true;
	cr_assert_eq(chmod(tree, 0755), 0);
	snprintf(path, sizeof(path), "%s/build", tree);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/build/.mpbs-build-tree", tree);
	cr_assert_eq(write_text_file(path, ""), 0);
	snprintf(bin, len, "%s/build/mpbs-run", tree);
	char *cp_bin[] = { "cp", (char *)mpbs_binary(), bin, NULL };
	cr_assert_eq(run_cmd(cp_bin, NULL), 0);
	snprintf(src, sizeof(src), "%s/policy", mpbs_srcdir());
	snprintf(path, sizeof(path), "%s/policy", tree);
	char *cp_policies[] = { "cp", "-r", src, path, NULL };
	cr_assert_eq(run_cmd(cp_policies, NULL), 0);
	snprintf(path, sizeof(path), "%s/policy/%s", tree, missing);
	cr_assert_eq(unlink(path), 0, "%s", path);
}

Test(e2e_config_errors, a_missing_seccomp_policy_is_refused_by_check_and_by_a_run)
{
	char bin[PATH_MAX + 32], want[PATH_MAX + 64];
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	tree_without("provider-exec.policy", bin, sizeof(bin));
	snprintf(want, sizeof(want), "%s/policy/provider-exec.policy", tree);
	struct cmd_result r;
	check(bin, &r);
	cr_assert_eq(r.status, 78, "a policy of a variant the topology does not use is still loaded by a run: %s", r.err);
	cr_assert(strstr(r.err, want), "no '%s' in: %s", want, r.err);
	cmd_result_free(&r);
	if (geteuid() != 0)
		return;
	char *argv[] = { bin, m.topology, NULL };
	cmd_run(&r, m.dir, (uid_t)-1, argv);
	cr_assert_eq(r.status, 78, "a run: %s", r.err);
	cr_assert(strstr(r.err, want), "no '%s' in: %s", want, r.err);
	cmd_result_free(&r);
	char keys[PATH_MAX + 16];
	struct stat st;
	snprintf(keys, sizeof(keys), "%s/keys", m.dir);
	cr_assert_neq(stat(keys, &st), 0, "the refused run made demo keys first");
}

/* A binary outside any build tree reads the directory compiled in; where it
 * is not installed, -t says which directory is missing. */
Test(e2e_config_errors, check_names_a_missing_seccomp_policy_directory)
{
	char bin[PATH_MAX + 32];
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(bin, sizeof(bin), "%s/mpbs-run", m.dir);
	char *cp_bin[] = { "cp", (char *)mpbs_binary(), bin, NULL };
	cr_assert_eq(run_cmd(cp_bin, NULL), 0);
	struct cmd_result r;
	check(bin, &r);
	if (r.status == 0) {
		cmd_result_free(&r);
		cr_skip_test("the seccomp policies are installed on this machine");
	}
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "the seccomp policy directory /") && strstr(r.err, ": No such file or directory"), "%s",
		  r.err);
	cmd_result_free(&r);
}

/* Waits for the run to end; returns its exit status, or -1 on timeout. */
static int wait_exit(int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int st;
		if (waitpid(m.pid, &st, WNOHANG) == m.pid) {
			m.pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(50);
	}
	return -1;
}

/* Processes whose real uid is in this instance's host uid range: its roles
 * and anything they started. */
static int processes_of_the_run(void)
{
	DIR *d = opendir("/proc");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], *text;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		if (!(text = read_file(path, NULL)))
			continue; /* gone meanwhile */
		char *uid = strstr(text, "\nUid:");
		unsigned long real = uid ? strtoul(uid + 5, NULL, 10) : 0;
		if (real >= m.uid_base && real < m.uid_base + HARNESS_UID_STRIDE)
			n++;
		free(text);
	}
	closedir(d);
	return n;
}

Test(e2e_config_errors, a_run_refuses_to_start_on_a_bad_provider_policy_without_restarting_it, .init = need_root)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0);
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 100\n"), 0);
	write_policy("B", TYPO_POLICY);
	cr_assert_neq(mpbs_launch(&m), 0, "ready with a bad policy (log: %s)", m.log);
	cr_assert_eq(wait_exit(10000 * harness_time_scale()), 78, "(log: %s)", m.log);
	char want[PATH_MAX + 96];
	snprintf(want, sizeof(want), "provider B: cannot start: %s/B.policy:2: frobnicate: unknown key\n", m.dir);
	cr_assert_eq(file_count(m.log, want), 1, "no '%s' once (log: %s)", want, m.log);
	cr_assert_eq(file_count(m.log, "restart"), 0, "a restart (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "ready:"), 0, "announced ready (log: %s)", m.log);
	cr_assert_eq(processes_of_the_run(), 0, "a role outlived the refused run (log: %s)", m.log);
}

/* Edited while the run serves: the provider's next start finds it, and it
 * is given up on at once (one restart, not a loop); the others serve on. */
Test(e2e_config_errors, a_policy_broken_while_running_gives_up_on_that_provider_alone, .init = need_root)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0);
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 100\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "not ready (log: %s)", m.log);
	cr_assert_geq(processes_of_the_run(), 4, "the roles are not seen by their uids");
	write_policy("B", TYPO_POLICY);
	pid_t b = mpbs_role_pid(&m, "mpbs-p-B");
	cr_assert_gt(b, 0);
	cr_assert_eq(kill(b, SIGKILL), 0);
	cr_assert_eq(file_wait_count(m.log, "provider B: a configuration error no restart repairs: giving up on it", 1,
				     5000 * harness_time_scale()),
		     1, "(log: %s)", m.log);
	sleep_ms(500); /* a restart loop would show by now: the backoff is 100 ms */
	cr_assert_eq(file_count(m.log, "provider B will restart in"), 1, "(log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "cannot start"), 1, "(log: %s)", m.log);
	cr_assert_gt(mpbs_role_pid(&m, "mpbs-p-A"), 0, "provider A went down too");
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "still served", 12), 204);
	cr_assert_eq(mpbs_stop(&m), 78, "the stop hides the configuration error (log: %s)", m.log);
}
