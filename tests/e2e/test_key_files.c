/* SPDX-License-Identifier: Apache-2.0 */
/* Key files as the supervisor finds them: it refuses a secret key that
 * its group or others may read, or that another uid owns, naming the file
 * and the fix, and its chown of demo keys never follows a symlink planted in
 * a key directory. `keys init` writes what a run accepts (owners, modes),
 * once, and nothing for a topology that does not check; a user other than
 * root verifies the ledger with those public keys, and an unreadable key is
 * "cannot read" (exit 2), never tampering. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/harness.h"

static struct mpbs m;

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

static void finish(void)
{
	if (m.pid > 0)
		mpbs_stop(&m);
	mpbs_cleanup(&m);
}

TestSuite(e2e_key_files, .fini = finish, .timeout = 60);

Test(e2e_key_files, a_secret_key_open_to_its_group_is_refused_by_name)
{
	char key[PATH_MAX + 32], want[PATH_MAX + 160];
	need_root();
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "first start (demo keys): log %s", m.log);
	cr_assert_eq(mpbs_stop(&m), 0);
	m.pid = 0;
	snprintf(key, sizeof(key), "%s/keys/B/signal.key", m.dir);
	cr_assert_eq(chmod(key, 0640), 0);
	cr_assert_neq(mpbs_launch(&m), 0, "started with a group-readable signal.key");
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	snprintf(want, sizeof(want), "provider B: secret key %s has mode 0640 (group or other bits set): refused", key);
	cr_assert_not_null(strstr(log, want), "log: %s", log);
	free(log);
}

Test(e2e_key_files, demo_keys_never_chown_through_a_symlink)
{
	char dir[PATH_MAX + 32], victim[PATH_MAX + 32], link[PATH_MAX + 64];
	struct stat st;
	need_root();
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(victim, sizeof(victim), "%s/victim", m.dir);
	cr_assert_eq(write_text_file(victim, "root's file\n"), 0);
	snprintf(dir, sizeof(dir), "%s/keys", m.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/keys/A", m.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/token.key", dir);
	cr_assert_eq(symlink(victim, link), 0);
	cr_assert_neq(mpbs_launch(&m), 0, "started with a symlink among its demo keys");
	cr_assert_eq(stat(victim, &st), 0);
	cr_assert_eq(st.st_uid, 0, "the symlink's target was chowned to %u", st.st_uid);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, "token.key: a symlink, refused"), "log: %s", log);
	free(log);
}

/* ------------------------------------------------------------ keys init */

/* The instance's topology without demo keys: keys come from `keys init`.
 * With provider, that provider's policy is replaced by policy. */
static void prepare_without_demo_keys(const char *names, const char *provider, const char *policy)
{
	cr_assert_eq(mpbs_prepare(&m, names, NULL), 0);
	while (file_replace(m.topology, "demo_keys = yes", "demo_keys = no") == 0)
		;
	cr_assert_eq(topology_insert(m.topology, "association", "demo_keys = no\n"), 0);
	if (provider) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s.policy", m.dir, provider);
		cr_assert_eq(write_text_file(path, policy), 0);
	}
}

static int keys_init(char **out)
{
	char base[64];
	snprintf(base, sizeof(base), "runner.uid_base=%u", m.uid_base);
	char *argv[] = { (char *)mpbs_binary(), "keys", "init", m.topology, "--set", base, NULL };
	return run_cmd(argv, out);
}

static void assert_owned(const char *rel, uid_t uid, mode_t mode)
{
	char path[PATH_MAX + 64];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", m.dir, rel);
	cr_assert_eq(lstat(path, &st), 0, "%s is missing", path);
	cr_assert_eq(st.st_uid, uid, "%s: owner %u, expected %u", path, (unsigned)st.st_uid, (unsigned)uid);
	cr_assert_eq(st.st_gid, uid, "%s: group %u, expected %u", path, (unsigned)st.st_gid, (unsigned)uid);
	cr_assert_eq(st.st_mode & 07777, mode, "%s: mode %04o, expected %04o", path, st.st_mode & 07777, mode);
}

/* keys init, then a run on those keys. Should the harness move the
 * instance to another uid range (another run holds this one), the keys are
 * written again for it. */
static void keys_init_and_launch(void)
{
	for (int attempt = 0;; attempt++) {
		unsigned base = m.uid_base;
		char *out = NULL;
		cr_assert_eq(keys_init(&out), 0, "keys init: %s", out);
		free(out);
		if (mpbs_launch(&m) == 0)
			return;
		char *log = read_file(m.log, NULL);
		cr_assert(m.uid_base != base && attempt < 3, "the run refused the keys of keys init: %s", log);
		free(log);
		if (m.pid > 0)
			waitpid(m.pid, NULL, 0);
		m.pid = 0;
		char cmd[PATH_MAX + 128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s/keys %s/association-keys", m.dir, m.dir);
		char *argv[] = { "sh", "-c", cmd, NULL };
		cr_assert_eq(run_cmd(argv, NULL), 0);
	}
}

/* Runs argv as nobody (uid and gid 65534, no supplementary group), as a
 * user who verifies a ledger would: exit status, output in *out. */
static int run_as_nobody(char *const argv[], char **out)
{
	char tmpl[] = "/tmp/mpbs-nobody-XXXXXX";
	int ofd = mkstemp(tmpl);
	cr_assert_geq(ofd, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (dup2(ofd, 1) < 0 || dup2(ofd, 2) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(ofd);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*out = read_file(tmpl, NULL);
	unlink(tmpl);
	cr_assert(WIFEXITED(st), "killed by signal %d", WTERMSIG(st));
	return WEXITSTATUS(st);
}

/* mpbs-run copied where nobody may run it (the build tree may sit under a
 * private home). */
static void binary_for_nobody(char *path, size_t len)
{
	snprintf(path, len, "%s/mpbs-run", m.dir);
	char *argv[] = { "cp", (char *)mpbs_binary(), path, NULL };
	cr_assert_eq(run_cmd(argv, NULL), 0);
	cr_assert_eq(chmod(path, 0755), 0);
}

Test(e2e_key_files, keys_init_writes_what_the_run_expects_once_and_a_user_verifies_with_it)
{
	char path[PATH_MAX + 64], *out = NULL;
	struct stat before, after;
	need_root();
	prepare_without_demo_keys("A B", "A", "accept_context = CTX_ALPHA\nreceive_body = yes\ntoken_key = token.key\n");

	cr_assert_eq(keys_init(&out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "provider A: wrote"), "%s", out);
	cr_assert_not_null(strstr(out, "keys/A/token.key (token key"), "the policy names a token key: %s", out);
	cr_assert_null(strstr(out, "keys/B/token.key"), "B's policy names none: %s", out);
	cr_assert_not_null(strstr(out, "association: wrote"), "%s", out);
	free(out);
	uid_t assoc = m.uid_base + 1, a = m.uid_base + 2, b = m.uid_base + 3;
	assert_owned("keys/A", a, 0755);
	assert_owned("keys/A/signal.key", a, 0600);
	assert_owned("keys/A/signal.pub", a, 0644);
	assert_owned("keys/A/token.key", a, 0600);
	assert_owned("keys/B/signal.key", b, 0600);
	assert_owned("keys/B/signal.pub", b, 0644);
	assert_owned("association-keys", assoc, 0755);
	assert_owned("association-keys/signal.key", assoc, 0600);
	assert_owned("association-keys/signal.pub", assoc, 0644);

	snprintf(path, sizeof(path), "%s/keys/A/signal.key", m.dir);
	cr_assert_eq(stat(path, &before), 0);
	cr_assert_eq(keys_init(&out), 0, "%s", out);
	cr_assert_null(strstr(out, "wrote"), "a second run writes nothing: %s", out);
	cr_assert_not_null(strstr(out, "provider A: kept"), "%s", out);
	free(out);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime, "signal.key was rewritten");

	keys_init_and_launch();
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 10000 * harness_time_scale()), 1);
	cr_assert_eq(mpbs_stop(&m), 0);
	m.pid = 0;

	char bin[PATH_MAX + 32], keys[PATH_MAX + 32], want[PATH_MAX * 2];
	binary_for_nobody(bin, sizeof(bin));
	snprintf(keys, sizeof(keys), "%s/keys", m.dir);
	char *by_topology[] = { bin, "verify", m.ledger, "--topology", m.topology, NULL };
	char *by_keys[] = { bin, "verify", "--public-keys", keys, m.ledger, NULL }; /* options first: GNU order */
	cr_assert_eq(run_as_nobody(by_topology, &out), 0, "a user verifies a genuine ledger: %s", out);
	cr_assert_not_null(strstr(out, "OK: "), "%s", out);
	cr_assert_not_null(strstr(out, "heads verified"), "the association's key is readable too: %s", out);
	free(out);
	cr_assert_eq(run_as_nobody(by_keys, &out), 0, "--public-keys DIR/NAME/signal.pub: %s", out);
	free(out);

	/* What verify does not need may be closed to the user: a provider's
	 * policy behind a directory only root enters (policies are private). */
	char priv[PATH_MAX + 32];
	snprintf(priv, sizeof(priv), "%s/private", m.dir);
	cr_assert_eq(mkdir(priv, 0700), 0);
	char *with_private[] = { bin, "verify", m.ledger, "--topology", m.topology, "--set",
				 "provider.A.policy=private/A.policy", NULL };
	cr_assert_eq(run_as_nobody(with_private, &out), 0, "verify looked at a private policy: %s", out);
	free(out);
	/* A topology the user cannot read: it cannot check, exit 2. */
	char closed_topo[PATH_MAX + 32];
	snprintf(closed_topo, sizeof(closed_topo), "%s/closed.conf", m.dir);
	char *cp_topo[] = { "cp", m.topology, closed_topo, NULL };
	cr_assert_eq(run_cmd(cp_topo, NULL), 0);
	cr_assert_eq(chmod(closed_topo, 0600), 0);
	char *unreadable_topo[] = { bin, "verify", m.ledger, "--topology", closed_topo, NULL };
	cr_assert_eq(run_as_nobody(unreadable_topo, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "cannot read the topology: "), "%s", out);
	free(out);

	/* A key directory closed to others: verify cannot tell, and says so. */
	snprintf(path, sizeof(path), "%s/keys/B", m.dir);
	cr_assert_eq(chmod(path, 0700), 0);
	snprintf(want, sizeof(want), "cannot read the public key of provider B: %s/keys/B/signal.pub: Permission denied",
		 m.dir);
	cr_assert_eq(run_as_nobody(by_topology, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_null(strstr(out, "FAIL"), "an unreadable key is no finding about the ledger: %s", out);
	free(out);
	cr_assert_eq(run_as_nobody(by_keys, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(out);
	/* A ledger closed to others (a copy: the ledger itself is append-only). */
	char closed[PATH_MAX + 32];
	snprintf(closed, sizeof(closed), "%s/closed.jsonl", m.dir);
	char *cp[] = { "cp", m.ledger, closed, NULL };
	cr_assert_eq(run_cmd(cp, NULL), 0);
	cr_assert_eq(chmod(closed, 0600), 0);
	by_topology[2] = closed;
	cr_assert_eq(run_as_nobody(by_topology, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "cannot read the ledger: "), "%s", out);
	free(out);
}

Test(e2e_key_files, keys_init_writes_nothing_for_a_topology_that_does_not_check)
{
	char path[PATH_MAX + 64], *out = NULL;
	struct stat st;
	need_root();
	prepare_without_demo_keys("A B", "B", "accept_context = CTX_ALPHA\ntoken_key = ../token.key\n");
	cr_assert_eq(keys_init(&out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "B.policy:2: token_key: expected a file name"), "%s", out);
	free(out);
	snprintf(path, sizeof(path), "%s/keys", m.dir);
	cr_assert_neq(stat(path, &st), 0, "A's keys were written although B's policy is bad");

	cr_assert_eq(file_replace(m.topology, "[intermediary]", "[intermediary]\nbogus = 1"), 0);
	cr_assert_eq(keys_init(&out), 78, "%s", out);
	free(out);
	char *help[] = { (char *)mpbs_binary(), "keys", "init", m.topology, "--help", NULL };
	cr_assert_eq(run_cmd(help, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "usage: mpbs-run keys init"), "%s", out);
	free(out);
	cr_assert_neq(stat(path, &st), 0, "keys written by a refused topology or --help");
	snprintf(path, sizeof(path), "%s/association-keys", m.dir);
	cr_assert_neq(stat(path, &st), 0, "keys written by a refused topology or --help");
}

Test(e2e_key_files, a_secret_key_of_another_owner_is_refused_with_its_fix)
{
	char key[PATH_MAX + 32], want[PATH_MAX * 3], *out = NULL;
	need_root();
	prepare_without_demo_keys("A", NULL, NULL);
	cr_assert_eq(keys_init(&out), 0, "%s", out);
	free(out);
	snprintf(key, sizeof(key), "%s/keys/A/signal.key", m.dir);
	cr_assert_eq(chown(key, 0, 0), 0);
	unsigned a = m.uid_base + 2;
	snprintf(want, sizeof(want), "secret key %s is owned by uid 0 with mode 0600, but must be owned and readable by "
		 "uid %u, as which the role runs: refused; chown %u:%u %s", key, a, a, a, key);
	cr_assert_eq(keys_init(&out), 1, "keys init keeps it, and says the run will refuse it: %s", out);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(out);
	cr_assert_neq(mpbs_launch(&m), 0, "started with a secret key owned by root");
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, want), "log: %s", log);
	free(log);
}

Test(e2e_key_files, verify_answers_help_and_refuses_a_bad_command_line_in_one_line)
{
	char *out = NULL;
	char *help[] = { (char *)mpbs_binary(), "verify", "--bogus", "--help", NULL };
	cr_assert_eq(run_cmd(help, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "usage: mpbs-run verify LEDGER"), "%s", out);
	free(out);
	char *bad[] = { (char *)mpbs_binary(), "verify", "ledger.jsonl", "--public-keys", "/nonexistent", "--bogus", NULL };
	cr_assert_eq(run_cmd(bad, &out), 2, "%s", out);
	cr_assert_str_eq(out, "mpbs-run verify: unrecognized option '--bogus'\ntry 'mpbs-run verify --help'\n");
	free(out);
	char *missing[] = { (char *)mpbs_binary(), "verify", "/nonexistent/ledger.jsonl", "--public-keys", "/", NULL };
	cr_assert_eq(run_cmd(missing, &out), 2, "a ledger that cannot be read: %s", out);
	cr_assert_not_null(strstr(out, "cannot read the ledger: /nonexistent/ledger.jsonl: No such file or directory"),
			   "%s", out);
	free(out);
}
