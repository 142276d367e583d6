/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* One instance per ledger and per uid range (runner/instance_lock.c), and
 * the command line's numbers (runner/cli.c), through the real binary. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/harness.h"

#define EX_BUSY 75 /* runner/instance_lock.h EX_INSTANCE_BUSY */

static struct mpbs first, second;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&second, "A", NULL), 0, "temporary topology");
}

static void start_first(void)
{
	setup();
	cr_assert_eq(mpbs_start(&first, "A", NULL), 0, "mpbs-run did not become ready (log: %s)", first.log);
}

static void teardown(void)
{
	mpbs_cleanup(&second);
	mpbs_cleanup(&first);
}

static bool port_listens(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* `mpbs-run --set K=V --set K=V <second's topology>` to completion;
 * returns its exit status, its output in *out. A run that is not refused
 * gets SIGTERM after 10 s (status 124 from timeout(1)). */
static int run_second(const char *set1, const char *set2, char **out)
{
	char *argv[] = { "timeout", "-s", "TERM", "10", (char *)mpbs_binary(), "--set", (char *)set1, "--set",
			 (char *)set2, second.topology, NULL };
	return run_cmd(argv, out);
}

/* The first instance still does its work: it answers, confirms, and
 * stops cleanly. */
static void first_unharmed(void)
{
	cr_assert_eq(http_post(first.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(first.ledger, "confirmed", 1, 5000), 1, "no confirmation");
	cr_assert_eq(mpbs_stop(&first), 0, "log: %s", first.log);
}

static void expect_ledger_refused(const char *ledger_path)
{
	char set_ledger[PATH_MAX + 32], set_uids[64], *out = NULL;
	snprintf(set_ledger, sizeof(set_ledger), "association.ledger=%s", ledger_path);
	snprintf(set_uids, sizeof(set_uids), "runner.uid_base=%u", second.uid_base);
	int rc = run_second(set_ledger, set_uids, &out);
	cr_assert_eq(rc, EX_BUSY, "a second run on %s: status %d: %s", ledger_path, rc, out);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "ledger %s is in use by another running mpbs-run", ledger_path);
	cr_assert(strstr(out, want) != NULL, "%s", out);
	cr_assert_not(port_listens(second.port), "the refused run bound its listener");
	free(out);
	first_unharmed();
}

Test(e2e_instance, a_second_run_on_the_same_ledger_is_refused, .init = start_first, .fini = teardown,
     .timeout = 60)
{
	expect_ledger_refused(first.ledger);
}

Test(e2e_instance, a_second_run_on_the_ledger_through_a_symlinked_directory_is_refused, .init = start_first,
     .fini = teardown, .timeout = 60)
{
	char alias[PATH_MAX], ledger[PATH_MAX + 32];
	snprintf(alias, sizeof(alias), "%s/alias", second.dir);
	cr_assert_eq(symlink(first.dir, alias), 0);
	snprintf(ledger, sizeof(ledger), "%s/ledger", alias);
	expect_ledger_refused(ledger);
}

/* An append-only inode takes no new link: the link is made before the
 * first run marks it. */
Test(e2e_instance, a_second_run_on_a_hard_link_of_the_ledger_is_refused, .init = setup, .fini = teardown,
     .timeout = 60)
{
	cr_assert_eq(mpbs_prepare(&first, "A", NULL), 0);
	char link_path[PATH_MAX];
	snprintf(link_path, sizeof(link_path), "%s/hard.jsonl", second.dir);
	cr_assert_eq(write_text_file(first.ledger, ""), 0);
	cr_assert_eq(link(first.ledger, link_path), 0);
	cr_assert_eq(mpbs_launch(&first), 0, "log: %s", first.log);
	expect_ledger_refused(link_path);
}

Test(e2e_instance, an_overlapping_uid_range_is_refused_an_adjacent_one_runs, .init = start_first,
     .fini = teardown, .timeout = 60)
{
	/* first: providers A, so host uids uid_base .. uid_base + 2 */
	char set_uids[64], *out = NULL;
	snprintf(set_uids, sizeof(set_uids), "runner.uid_base=%u", first.uid_base + 2);
	int rc = run_second("association.confirm=all", set_uids, &out);
	cr_assert_eq(rc, EX_BUSY, "status %d: %s", rc, out);
	char want[128];
	snprintf(want, sizeof(want), "host uids %u..%u ([runner] uid_base = %u, 3 roles) overlap", first.uid_base + 2,
		 first.uid_base + 4, first.uid_base + 2);
	cr_assert(strstr(out, want) != NULL, "%s", out);
	snprintf(want, sizeof(want), "(uids %u..%u)", first.uid_base, first.uid_base + 2);
	cr_assert(strstr(out, want) != NULL, "the holder's range: %s", out);
	cr_assert_not(port_listens(second.port), "the refused run bound its listener");
	struct stat st;
	cr_assert(stat(second.ledger, &st) < 0, "the refused run created its ledger");
	free(out);

	/* --audit spawns roles under the same uids: the same lock */
	char *audit[] = { "timeout", "-s", "TERM", "10", (char *)mpbs_binary(), "--audit", "--set", set_uids,
			  second.topology, NULL };
	rc = run_cmd(audit, &out);
	cr_assert_eq(rc, EX_BUSY, "--audit: status %d: %s", rc, out);
	cr_assert(strstr(out, "overlap those of another running mpbs-run") != NULL, "%s", out);
	free(out);

	second.uid_base = first.uid_base + 3; /* right after first's last uid */
	cr_assert_eq(mpbs_launch(&second), 0, "an adjacent range did not start (log: %s)", second.log);
	cr_assert_eq(second.uid_base, first.uid_base + 3, "the harness moved it: refused (log: %s)", second.log);
	cr_assert_eq(http_post(second.port, "/nuvl", "CTX_ALPHA", NULL, "x", 1), 204);
	cr_assert_eq(mpbs_stop(&second), 0);
	first_unharmed();
}

/* How many fds of process pid name path (readlink of /proc/PID/fd/N). */
static size_t fds_naming(pid_t pid, const char *path)
{
	char dir[64], link[PATH_MAX + 32], target[PATH_MAX];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	cr_assert(d, "%s", dir);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strcmp(target, path) == 0;
		}
	}
	closedir(d);
	return n;
}

Test(e2e_instance, no_role_holds_the_lock_fds, .init = start_first, .fini = teardown, .timeout = 60)
{
	struct mpbs_role roles[8];
	int n = mpbs_roles(&first, roles, 8);
	cr_assert_eq(n, 3, "intermediary, association, A");
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s.lock", first.ledger);
	cr_assert_eq(fds_naming(first.pid, first.ledger), 1, "the supervisor: the live segment (the association's fd)");
	cr_assert_eq(fds_naming(first.pid, lock), 1, "the supervisor: LEDGER.lock");
	cr_assert_eq(fds_naming(first.pid, "/run/mpbs/uids.lock"), 1);
	for (int i = 0; i < n; i++) {
		size_t want = strcmp(roles[i].comm, "mpbs-assoc") == 0; /* its ledger fd only */
		cr_assert_eq(fds_naming(roles[i].pid, first.ledger), want, "%s", roles[i].comm);
		cr_assert_eq(fds_naming(roles[i].pid, "/run/mpbs/uids.lock"), 0, "%s", roles[i].comm);
		cr_assert_eq(fds_naming(roles[i].pid, lock), 0, "%s", roles[i].comm);
	}
	first_unharmed();
}

Test(e2e_instance, the_locks_die_with_a_killed_tree, .init = start_first, .fini = teardown, .timeout = 60)
{
	struct mpbs_role roles[8];
	int n = mpbs_roles(&first, roles, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(kill(first.pid, SIGKILL), 0);
	for (int i = 0; i < n; i++)
		kill(roles[i].pid, SIGKILL); /* already gone by PR_SET_PDEATHSIG, or now */
	cr_assert_eq(waitpid(first.pid, NULL, 0), first.pid);
	first.pid = 0;
	for (int i = 0; i < n; i++)
		for (int t = 0; t < 200 && kill(roles[i].pid, 0) == 0; t++)
			usleep(10 * 1000);
	unsigned base = first.uid_base;
	cr_assert_eq(mpbs_launch(&first), 0, "no new run on the same ledger (log: %s)", first.log);
	cr_assert_eq(first.uid_base, base, "the same uid range was refused (log: %s)", first.log);
	first_unharmed();
}

/* A refused number: status 2, one line naming the option and the value,
 * and nothing started (no ledger, no listener). */
static void expect_refused_number(const char *option, const char *value, const char *message)
{
	char *argv[] = { "timeout", "-s", "TERM", "10", (char *)mpbs_binary(), (char *)option, (char *)value,
			 second.topology, NULL };
	char *out = NULL;
	int rc = run_cmd(argv, &out);
	cr_assert_eq(rc, 2, "%s %s: status %d: %s", option, value, rc, out);
	char want[256];
	snprintf(want, sizeof(want), "%s: %s", option, message);
	cr_assert(strstr(out, want) != NULL, "%s '%s': %s", option, value, out);
	struct stat st;
	cr_assert(stat(second.ledger, &st) < 0, "%s %s: the ledger was created", option, value);
	cr_assert_not(port_listens(second.port), "%s %s started a listener", option, value);
	free(out);
}

Test(e2e_instance, bad_command_line_numbers_start_nothing, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const drains[] = { "0", "-1", "10x", "", "18446744073709551616", "3600001" };
	for (size_t i = 0; i < sizeof(drains) / sizeof(drains[0]); i++) {
		char msg[128];
		snprintf(msg, sizeof(msg), "expected an integer from 1 to 3600000, got '%s'", drains[i]);
		expect_refused_number("--drain-timeout", drains[i], msg);
	}
	expect_refused_number("--ready-fd", "abc", "expected an integer from 3 to 2147483647, got 'abc'");
	expect_refused_number("--ready-fd", "0", "expected an integer from 3 to 2147483647, got '0'");
	expect_refused_number("--ready-fd", "999", "fd 999 is not open");
	expect_refused_number("--threshold", "nan", "expected a number of 0 or more, got 'nan'");
	expect_refused_number("--threshold", "-0.5", "expected a number of 0 or more, got '-0.5'");
}
