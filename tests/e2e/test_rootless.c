/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* `mpbs-run --rootless` as a normal user: the suite runs as root, so each
 * test forks, drops to an unprivileged uid with no groups and its own home
 * and runtime directory (0700, owned by it), and execs a copy of the real
 * binary (with its policy directory beside it, and the reference topology
 * with its policies) from a directory that uid can read, whatever the
 * permissions of the build tree. The keys are the supervisor's demo keys,
 * written by that user. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/harness.h"

/* A uid and gid no account uses, far from the root runs' uid ranges. */
#define RL_UID 61234
#define RL_SETS 6

struct rootless {
	char dir[64];            /* root's, 0755: bin/, policy/, topo/ */
	char home[128];          /* the user's, 0700: run/, keys, ledger, logs */
	char bin[PATH_MAX];
	char topology[PATH_MAX];
	char ledger[PATH_MAX];
	char log[PATH_MAX];
	char sets[RL_SETS][PATH_MAX + 64]; /* --set values: listen, ledger, keys */
	int port;
	pid_t pid;
};

static struct rootless rl;

static int copy_tree(const char *from, const char *to)
{
	char *argv[] = { "cp", "-r", (char *)from, (char *)to, NULL };
	return run_cmd(argv, NULL);
}

static int user_dir(const char *path)
{
	return mkdir(path, 0700) < 0 || chown(path, RL_UID, RL_UID) < 0 ? -1 : 0;
}

static void setup(void)
{
	char src[PATH_MAX], dst[PATH_MAX];
	if (geteuid() != 0)
		cr_skip_test("needs root (to become a normal user)");
	snprintf(rl.dir, sizeof(rl.dir), "/tmp/mpbs-rootless-XXXXXX");
	cr_assert_not_null(mkdtemp(rl.dir));
	cr_assert_eq(chmod(rl.dir, 0755), 0);
	snprintf(dst, sizeof(dst), "%s/bin", rl.dir);
	cr_assert_eq(mkdir(dst, 0755), 0);
	snprintf(rl.bin, sizeof(rl.bin), "%s/bin/mpbs-run", rl.dir);
	cr_assert_eq(copy_tree(mpbs_binary(), rl.bin), 0);
	/* policy/ beside bin/, which a binary reads when the build-tree marker
	 * sits beside it (runner/plan.c plan_policy_dir) */
	snprintf(src, sizeof(src), "%s/.mpbs-build-tree", dirname(strdupa(mpbs_binary())));
	snprintf(dst, sizeof(dst), "%s/bin/.mpbs-build-tree", rl.dir);
	cr_assert_eq(copy_tree(src, dst), 0);
	snprintf(src, sizeof(src), "%s/policy", mpbs_srcdir());
	snprintf(dst, sizeof(dst), "%s/policy", rl.dir);
	cr_assert_eq(copy_tree(src, dst), 0);
	snprintf(src, sizeof(src), "%s/contrib/topologies", mpbs_srcdir());
	snprintf(dst, sizeof(dst), "%s/topo", rl.dir);
	cr_assert_eq(copy_tree(src, dst), 0);
	snprintf(rl.topology, sizeof(rl.topology), "%s/topo/reference.conf", rl.dir);

	snprintf(rl.home, sizeof(rl.home), "%s/home", rl.dir);
	snprintf(dst, sizeof(dst), "%s/run", rl.home);
	cr_assert_eq(user_dir(rl.home), 0);
	cr_assert_eq(user_dir(dst), 0);
	snprintf(rl.ledger, sizeof(rl.ledger), "%s/ledger/ledger", rl.home);
	snprintf(rl.log, sizeof(rl.log), "%s/mpbs-run.log", rl.dir);
	rl.port = harness_free_port();
	cr_assert_gt(rl.port, 0);
	snprintf(rl.sets[0], sizeof(rl.sets[0]), "intermediary.listen=127.0.0.1:%d", rl.port);
	snprintf(rl.sets[1], sizeof(rl.sets[1]), "association.ledger=%s", rl.ledger);
	snprintf(rl.sets[2], sizeof(rl.sets[2]), "association.keys=%s/association-keys", rl.home);
	for (int i = 0; i < 3; i++)
		snprintf(rl.sets[3 + i], sizeof(rl.sets[0]), "provider.%c.keys=%s/keys/%c", 'A' + i, rl.home, 'A' + i);
}

static void teardown(void)
{
	if (rl.pid > 0) {
		kill(rl.pid, SIGKILL);
		waitpid(rl.pid, NULL, 0);
	}
	if (rl.dir[0]) {
		char *argv[] = { "rm", "-rf", rl.dir, NULL };
		run_cmd(argv, NULL);
	}
	memset(&rl, 0, sizeof(rl));
}

/* argv: the binary's arguments after its name, NULL-ended; with_sets puts
 * the topology's --set options, then topology_option (if not NULL), then
 * the topology path at the end. */
static char **command_with(const char *const *args, bool with_sets, const char *topology_option)
{
	static char *argv[40];
	size_t n = 0;
	argv[n++] = rl.bin;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = (char *)args[i];
	if (with_sets) {
		for (size_t i = 0; i < RL_SETS; i++) {
			argv[n++] = "--set";
			argv[n++] = rl.sets[i];
		}
		if (topology_option)
			argv[n++] = (char *)topology_option;
		argv[n++] = rl.topology;
	}
	argv[n] = NULL;
	return argv;
}

static char **command(const char *const *args, bool with_sets)
{
	return command_with(args, with_sets, NULL);
}

/* Child side: the unprivileged user, output to log_fd, fd 3 = ready_fd
 * when >= 0. Only async-signal-safe calls before the exec. */
static _Noreturn void exec_as_user(char **argv, int log_fd, int ready_fd, bool drop)
{
	char home[PATH_MAX + 8], runtime[PATH_MAX + 24];
	snprintf(home, sizeof(home), "HOME=%s", rl.home);
	snprintf(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s/run", rl.home);
	char *envp[] = { home, runtime, "PATH=/usr/bin:/bin", NULL };
	if (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(126);
	/* dup2 onto itself would keep O_CLOEXEC */
	if (ready_fd >= 0 && (ready_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(ready_fd, 3)) < 0)
		_exit(126);
	if (drop && (setgroups(0, NULL) < 0 || setresgid(RL_UID, RL_UID, RL_UID) < 0 ||
		     setresuid(RL_UID, RL_UID, RL_UID) < 0))
		_exit(126);
	/* after the id change, which clears it; then the test may already be gone */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1 || chdir(drop ? rl.home : "/") < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Starts argv as the user (drop) or as root, its output into rl.log. */
static pid_t start(char **argv, int ready_fd, bool drop)
{
	int log_fd = open(rl.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(log_fd, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		exec_as_user(argv, log_fd, ready_fd, drop);
	close(log_fd);
	return pid;
}

/* Runs argv to its end; returns its exit status, *out its output. */
static int run(char **argv, bool drop, char **out)
{
	int st;
	pid_t pid = start(argv, -1, drop);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*out = read_file(rl.log, NULL);
	cr_assert_not_null(*out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void wait_ready(int rd)
{
	char buf[16] = "";
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	int rc = poll(&pfd, 1, 20000 * harness_time_scale());
	ssize_t n = rc > 0 ? read(rd, buf, sizeof(buf)) : -1;
	close(rd);
	char *log = read_file(rl.log, NULL);
	cr_assert(n >= 7 && memcmp(buf, "READY=1", 7) == 0, "not ready: %s", log ? log : "(no log)");
	free(log);
}

/* Uid line of /proc/PID/status, tabs as they are. */
static void status_uid(pid_t pid, char *out, size_t len)
{
	char path[64], *text;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = read_file(path, NULL);
	cr_assert_not_null(text);
	const char *at = strstr(text, "\nUid:\t");
	cr_assert_not_null(at);
	snprintf(out, len, "%.*s", (int)strcspn(at + 6, "\n"), at + 6);
	free(text);
}

static ino_t user_ns_of(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_ino;
}

/* Every role runs as the user's one host uid, each in a user namespace of
 * its own (not the host's, not another role's). */
static void assert_roles_share_the_user_uid(void)
{
	struct mpbs m = { .pid = rl.pid };
	struct mpbs_role roles[8];
	int n = mpbs_roles(&m, roles, 8);
	cr_assert_eq(n, 5, "roles of the supervisor: %d", n);
	ino_t seen[8];
	for (int i = 0; i < n; i++) {
		char uid[64];
		status_uid(roles[i].pid, uid, sizeof(uid));
		cr_assert_str_eq(uid, "61234\t61234\t61234\t61234", "%s", roles[i].comm);
		seen[i] = user_ns_of(roles[i].pid);
		cr_assert_neq(seen[i], user_ns_of(getpid()), "%s is in the host's user namespace", roles[i].comm);
		for (int j = 0; j < i; j++)
			cr_assert_neq(seen[i], seen[j], "%s shares a user namespace", roles[i].comm);
	}
}

Test(e2e_rootless, normal_user_runs_reference_posts_and_verifies, .init = setup, .fini = teardown, .timeout = 120)
{
	static const char *const run_args[] = { "--rootless", "--ready-fd", "3", NULL };
	int pfd[2];
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	rl.pid = start(command(run_args, true), pfd[1], true);
	close(pfd[1]);
	wait_ready(pfd[0]);
	cr_assert_eq(file_count(rl.log, "warning: rootless"), 1, "one rootless warning line");
	cr_assert_eq(file_count(rl.log, "weakened: per-role host uids, ledger append-only flag, cgroup limits"), 1);
	assert_roles_share_the_user_uid();

	cr_assert_eq(http_post(rl.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(rl.ledger, "confirmed", 1, 5000 * harness_time_scale()), 1,
		     "no confirmation within 5 s");
	struct stat st;
	cr_assert_eq(stat(rl.ledger, &st), 0);
	cr_assert_eq(st.st_uid, RL_UID, "the ledger belongs to the user");
	char secret[PATH_MAX + 32];
	snprintf(secret, sizeof(secret), "%s/keys/A/signal.key", rl.home);
	cr_assert_eq(stat(secret, &st), 0);
	cr_assert(st.st_uid == RL_UID && (st.st_mode & 0777) == 0600, "secret key %o uid %u", st.st_mode & 0777,
		  (unsigned)st.st_uid);

	cr_assert_eq(kill(rl.pid, SIGTERM), 0);
	int status;
	cr_assert_eq(waitpid(rl.pid, &status, 0), rl.pid);
	rl.pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stop status %d", status);

	const char *verify_args[] = { "verify", rl.ledger, NULL };
	char *out;
	cr_assert_eq(run(command_with(verify_args, true, "--topology"), true, &out), 0, "verify: %s", out);
	cr_assert(strstr(out, "OK: ") && strstr(out, "1 confirmed"), "%s", out);
	free(out);
}

static json_t *row_of(json_t *results, const char *id, const char *role)
{
	size_t i;
	json_t *r;
	json_array_foreach (results, i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "role")), role) == 0)
			return r;
	return NULL;
}

static const char *verdict_of(json_t *results, const char *id, const char *role)
{
	json_t *r = row_of(results, id, role);
	cr_assert_not_null(r, "no row %s of %s", id, role);
	return json_string_value(json_object_get(r, "verdict"));
}

/* The audit as the normal user, with an --audit-weaken of each of weaken
 * (NULL-ended; NULL: none), its JSON and JUnit in the user's home;
 * returns its exit status and the JSON report (never NULL). */
static int rootless_audit(const char *const *weaken, json_t **report, char **junit_text)
{
	char json[PATH_MAX + 16], junit[PATH_MAX + 16];
	snprintf(json, sizeof(json), "%s/audit.json", rl.home);
	snprintf(junit, sizeof(junit), "%s/audit.xml", rl.home);
	const char *args[24] = { "--audit", "--rootless", "--json", json, "--junit", junit };
	for (size_t i = 0, n = 6; weaken && weaken[i] && n + 2 < sizeof(args) / sizeof(args[0]); i++) {
		args[n++] = "--audit-weaken";
		args[n++] = weaken[i];
	}
	char *out;
	int status = run(command(args, true), true, &out);
	*report = json_load_file(json, 0, NULL);
	cr_assert_not_null(*report, "no JSON report: %s", out);
	free(out);
	*junit_text = read_file(junit, NULL);
	cr_assert_not_null(*junit_text);
	return status;
}

/* Every row of this verdict, as "ID/ROLE" in report order, each followed by a space. */
static void rows_with(json_t *results, const char *verdict, char *out, size_t len)
{
	size_t i, used = 0;
	json_t *r;
	out[0] = '\0';
	json_array_foreach (results, i, r)
		if (strcmp(json_string_value(json_object_get(r, "verdict")), verdict) == 0 && used < len)
			used += (size_t)snprintf(out + used, len - used, "%s/%s ",
						 json_string_value(json_object_get(r, "id")),
						 json_string_value(json_object_get(r, "role")));
}

#define EACH_ROLE(id)                                                                                              \
	id "/intermediary " id "/association " id "/provider A " id "/provider B " id "/provider C "

Test(e2e_rootless, audit_as_normal_user_marks_weakened_and_unobserved_and_violates_nothing, .init = setup,
     .fini = teardown, .timeout = 600)
{
	json_t *report;
	char *xml, rows[4096];
	cr_assert_eq(rootless_audit(NULL, &report, &xml), 0);
	cr_assert_eq(json_integer_value(json_object_get(report, "violated")), 0);
	json_t *results = json_object_get(report, "results");
	/* what rootless lacks, and only that: WEAKENED, with the layer named
	 * (the user runs with no supplementary groups, which would be a sixth) */
	rows_with(results, "WEAKENED", rows, sizeof(rows));
	cr_assert_str_eq(rows, EACH_ROLE("host.uid") "ledger.mmap-shared-write-unsealed/association "
						    "ledger.ftruncate-unsealed/association "
						    "ledger.fcntl-clear-append-unsealed/association ");
	cr_assert_eq(json_integer_value(json_object_get(report, "weakened")), 8);
	json_t *weakened = json_object_get(row_of(results, "ledger.ftruncate-unsealed", "association"), "weakened");
	cr_assert_str_eq(json_string_value(json_object_get(weakened, "layer")), "ledger append-only flag");
	/* what no view shows a normal user: the ipc, uts and cgroup namespaces
	 * of the two roles whose sandbox has no /proc for the live sandbox to
	 * report them; a provider's are in its host.namespaces row */
	rows_with(results, "UNOBSERVED", rows, sizeof(rows));
	cr_assert_str_eq(rows, "host.namespaces-ipc-uts-cgroup/intermediary host.namespaces-ipc-uts-cgroup/association ");
	cr_assert_eq(json_integer_value(json_object_get(report, "unobserved")), 2);
	cr_assert_not_null(json_object_get(json_object_get(row_of(results, "host.namespaces-ipc-uts-cgroup",
								  "association"), "unobserved"), "why"));
	cr_assert_str_eq(json_string_value(json_object_get(row_of(results, "host.namespaces", "provider A"), "got")),
			 "all its own");
	/* what still holds: ENFORCED, seen from the host and from inside;
	 * namespaces and links through what /proc shows a normal user, the
	 * environment, stderr and the fd table through the live sandbox's report */
	static const char *const host_enforced[] = { "host.seccomp-mode", "host.capabilities", "host.namespaces",
						     "host.netns-links", "host.fd-table", "host.no-supplementary-groups",
						     "host.empty-environ", "host.own-stderr" };
	static const char *const roles[] = { "intermediary", "association", "provider B" };
	for (size_t h = 0; h < sizeof(host_enforced) / sizeof(host_enforced[0]); h++)
		for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
			cr_assert_str_eq(verdict_of(results, host_enforced[h], roles[k]), "ENFORCED", "%s of %s",
					 host_enforced[h], roles[k]);
	cr_assert_str_eq(verdict_of(results, "host.provider-mounts", "provider B"), "ENFORCED");
	size_t i, enforced_probes = 0;
	json_t *r;
	json_array_foreach (results, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *verdict = json_string_value(json_object_get(r, "verdict"));
		const char *mech = json_string_value(json_object_get(r, "mechanism"));
		if (strcmp(mech, "seccomp") == 0 || strcmp(mech, "landlock") == 0 || strcmp(mech, "netns") == 0 ||
		    strcmp(mech, "mntns") == 0 || strcmp(mech, "pidns") == 0)
			cr_assert_str_eq(verdict, "ENFORCED", "%s (%s)", id, mech);
		enforced_probes += strncmp(id, "host.", 5) != 0 && strcmp(verdict, "ENFORCED") == 0;
	}
	cr_assert_gt(enforced_probes, 300, "probes ENFORCED: %zu", enforced_probes);
	json_decref(report);
	char skipped[64];
	snprintf(skipped, sizeof(skipped), "failures=\"0\" skipped=\"%d\"", 8 + 2);
	cr_assert(strstr(xml, skipped) && strstr(xml, "<skipped message=\"WEAKENED: per-role host uids: ") &&
			  strstr(xml, "<skipped message=\"UNOBSERVED: not seen by this audit"),
		  "%.400s", xml);
	free(xml);
}

/* What a normal user's audit observes, from the host or through the live
 * sandbox's report, turns VIOLATED when the audit takes its layer off: one
 * run, a different layer on different rows (no --audit-weaken word takes
 * off a pid, mount or user namespace). */
Test(e2e_rootless, audit_as_normal_user_sees_each_layer_taken_off, .init = setup, .fini = teardown,
     .timeout = 600)
{
	static const char *const weaken[] = { "netns:intermediary", "env:intermediary", "stderr:association", "fds:B",
					      NULL };
	json_t *report;
	char *xml, rows[1024];
	cr_assert_eq(rootless_audit(weaken, &report, &xml), 1);
	json_t *results = json_object_get(report, "results");
	rows_with(results, "VIOLATED", rows, sizeof(rows));
	cr_assert_str_eq(rows, "host.namespaces/intermediary host.netns-links/intermediary "
			       "host.empty-environ/intermediary host.own-stderr/association "
			       "host.fd-table/provider B self.fd-table/provider B ");
	cr_assert_str_eq(json_string_value(json_object_get(row_of(results, "host.namespaces", "intermediary"), "got")),
			 "shares its net namespace");
	cr_assert_str_eq(json_string_value(json_object_get(row_of(results, "host.own-stderr", "association"), "got")),
			 "the supervisor's stderr");
	/* the three variables the test starts it with: HOME, XDG_RUNTIME_DIR, PATH */
	cr_assert_str_eq(json_string_value(json_object_get(row_of(results, "host.empty-environ", "intermediary"), "got")),
			 "3 variables (HOME=...)");
	/* the roles not weakened: the same rows hold */
	cr_assert_str_eq(verdict_of(results, "host.empty-environ", "association"), "ENFORCED");
	cr_assert_str_eq(verdict_of(results, "host.own-stderr", "intermediary"), "ENFORCED");
	cr_assert_str_eq(verdict_of(results, "host.fd-table", "provider A"), "ENFORCED");
	cr_assert_str_eq(verdict_of(results, "host.namespaces", "association"), "ENFORCED");
	cr_assert_eq(json_integer_value(json_object_get(report, "violated")), 6);
	json_decref(report);
	free(xml);
}

Test(e2e_rootless, rootless_as_root_is_refused, .init = setup, .fini = teardown)
{
	static const char *const args[] = { "--rootless", NULL };
	char *out;
	cr_assert_eq(run(command(args, true), false, &out), 1, "%s", out);
	cr_assert(strstr(out, "--rootless is for a normal user") && strstr(out, "own host uid"), "%s", out);
	free(out);
	cr_assert_eq(access(rl.ledger, F_OK), -1, "a refused run made its ledger");
}

Test(e2e_rootless, normal_user_without_rootless_is_refused_naming_it, .init = setup, .fini = teardown)
{
	static const char *const args[] = { NULL };
	char *out;
	cr_assert_eq(run(command(args, true), true, &out), 1, "%s", out);
	cr_assert(strstr(out, "with --rootless, which weakens: per-role host uids, ledger append-only flag, "
			      "cgroup limits"),
		  "%s", out);
	free(out);
	cr_assert_eq(access(rl.ledger, F_OK), -1, "a refused run made its ledger");
}

Test(e2e_rootless, required_cgroups_are_refused_not_dropped, .init = setup, .fini = teardown)
{
	/* a configuration error: 78, from the run and already from -t */
	static const char *const args[] = { "--rootless", "--set", "runner.require_cgroups=yes", NULL };
	static const char *const check[] = { "--rootless", "-t", "--set", "runner.require_cgroups=yes", NULL };
	char *out;
	cr_assert_eq(run(command(args, true), true, &out), 78, "%s", out);
	cr_assert(strstr(out, "require_cgroups = yes in [runner]: a rootless run has no cgroup limits"), "%s", out);
	free(out);
	cr_assert_eq(run(command(check, true), true, &out), 78, "%s", out);
	cr_assert(strstr(out, "require_cgroups = yes in [runner]: a rootless run has no cgroup limits"), "%s", out);
	free(out);
}
