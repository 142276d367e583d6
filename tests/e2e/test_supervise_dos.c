/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Denial of service between roles at the supervisor: a role
 * that exits 0 while the run goes on is a failure and is restarted, not
 * a reason to stop everything; the restart budget is each role's own, so a
 * provider that keeps dying is given up on alone while the other providers
 * keep being restarted and keep serving. Only pids this process started
 * (the supervisor and its children) are ever signalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/harness.h"

#define CTX "CTX_ALPHA"
/* Near max_request (65536): the artifact channel of a provider nobody
 * reads fills after a few dozen of these. */
#define BIG_BODY 60000
#define BIG_POSTS 150

HARNESS_ROOT_FIXTURE

/* Signals the running role named comm and waits for the log to say it
 * restarted; returns its new pid. */
static pid_t signal_and_wait_restart(const char *comm, const char *label, int sig)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "%s restarted (pid", label);
	size_t before = file_count(m.log, needle);
	pid_t pid = mpbs_role_pid(&m, comm);
	cr_assert_gt(pid, 0, "no running %s (log: %s)", comm, m.log);
	cr_assert_eq(kill(pid, sig), 0, "kill %s: %s", comm, strerror(errno));
	cr_assert_gt(file_wait_count(m.log, needle, before + 1, 8000), before, "%s was not restarted (log: %s)", label,
		     m.log);
	pid_t fresh = mpbs_wait_role(&m, comm, pid, 2000);
	cr_assert_gt(fresh, 0, "no new %s process", comm);
	return fresh;
}

static void post_n(size_t n, size_t body_len)
{
	char *body = malloc(body_len);
	cr_assert_not_null(body);
	memset(body, 'b', body_len);
	for (size_t i = 0; i < n; i++) {
		body[0] = (char)('a' + i % 26); /* distinct operations */
		body[1] = (char)('a' + i / 26 % 26);
		cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, body, body_len), 204, "request %zu", i);
	}
	free(body);
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

Test(e2e_supervise_dos, a_role_that_exits_0_is_restarted_not_the_end_of_the_run, .init = need_root,
     .fini = finish, .timeout = 60)
{
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	/* SIGTERM makes a provider drain and exit 0, as a compromised or
	 * confused role could on its own. */
	signal_and_wait_restart("mpbs-p-A", "provider A", SIGTERM);
	signal_and_wait_restart("mpbs-int", "intermediary", SIGTERM);
	cr_assert_eq(file_count(m.log, "exited with status 0 while the run goes on: a failure"), 2, "log: %s", m.log);
	cr_assert_eq(file_count(m.log, "stopping ("), 0, "the run began to stop (log: %s)", m.log);
	post_n(5, 16);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 5, 8000), 5, "the run no longer confirms (log: %s)",
		     m.log);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}

/* restart_budget = 2: provider A dies three times and is given up on;
 * provider B is then killed twice and restarted both times (A's deaths
 * were not charged to it); B and C keep signing; the supervisor drops
 * what the intermediary writes to A, so A's full channel never makes the
 * intermediary drop or stall anything. The run ends with status 1: it
 * lost a role. */
Test(e2e_supervise_dos, one_provider_past_its_budget_is_given_up_alone, .init = need_root, .fini = finish,
     .timeout = 90)
{
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_budget = 2\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	signal_and_wait_restart("mpbs-p-A", "provider A", SIGKILL);
	signal_and_wait_restart("mpbs-p-A", "provider A", SIGKILL);
	pid_t a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(a, 0);
	cr_assert_eq(kill(a, SIGKILL), 0);
	cr_assert_eq(file_wait_count(m.log, "provider A: restart budget exhausted", 1, 5000), 1, "log: %s", m.log);
	cr_assert_eq(file_count(m.log, "giving up on it: the run goes on without it"), 1, "log: %s", m.log);
	sleep_ms(500);
	cr_assert_eq(mpbs_role_pid(&m, "mpbs-p-A"), -1, "provider A was restarted past its budget");

	signal_and_wait_restart("mpbs-p-B", "provider B", SIGKILL);
	signal_and_wait_restart("mpbs-p-B", "provider B", SIGKILL);
	cr_assert_eq(file_count(m.log, "stopping ("), 0, "the run began to stop (log: %s)", m.log);

	post_n(BIG_POSTS, BIG_BODY);
	size_t b = 0, c = 0;
	for (int i = 0; i < 100 && (b < 2 * BIG_POSTS || c < 2 * BIG_POSTS); i++) {
		b = ledger_count_provider(m.ledger, "signal", "B");
		c = ledger_count_provider(m.ledger, "signal", "C");
		sleep_ms(100);
	}
	cr_assert_eq(b, 2 * BIG_POSTS, "provider B signed %zu of %d signals", b, 2 * BIG_POSTS);
	cr_assert_eq(c, 2 * BIG_POSTS, "provider C signed %zu of %d signals", c, 2 * BIG_POSTS);
	cr_assert_eq(mpbs_stop(&m), 1, "a run that lost a role must end with status 1 (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, " 0 dropped on a full channel"), 1,
		     "the intermediary dropped artifacts on the given-up provider's channel (log: %s)", m.log);
}

/* With no provider left the run has nothing to do: it stops, status 1. */
Test(e2e_supervise_dos, the_run_stops_when_every_provider_was_given_up, .init = need_root, .fini = finish,
     .timeout = 60)
{
	int st = 0;
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_budget = 1\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	signal_and_wait_restart("mpbs-p-A", "provider A", SIGKILL);
	pid_t a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(a, 0);
	cr_assert_eq(kill(a, SIGKILL), 0);
	cr_assert_eq(wait_exit(m.pid, 10000, &st), 0, "the supervisor did not stop (log: %s)", m.log);
	m.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status %d", st);
	cr_assert_eq(file_count(m.log, "stopping (every provider was given up on)"), 1, "log: %s", m.log);
}

/* CPU ticks (user + system) of pid so far. */
static unsigned long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0;
	cr_assert(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2);
	return utime + stime;
}

/* Red team: the intermediary shut its artifact channel to A (an allowed
 * shutdown on an fd >= 4); A's reads then returned end-of-file at once and
 * its level-triggered watch spun at half a CPU for ever. A stops watching
 * a channel its writer shut. The shutdown is done here from the host, on
 * the intermediary's own fd 4, taken with pidfd_getfd. */
Test(e2e_supervise_dos, a_shut_artifact_channel_does_not_make_its_provider_spin, .init = need_root,
     .fini = finish, .timeout = 60)
{
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	pid_t im = mpbs_role_pid(&m, "mpbs-int"), a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert(im > 0 && a > 0);
	int pidfd = (int)syscall(SYS_pidfd_open, im, 0);
	cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
	int writer = (int)syscall(SYS_pidfd_getfd, pidfd, 4, 0);
	cr_assert_geq(writer, 0, "pidfd_getfd: %s", strerror(errno));
	cr_assert_eq(shutdown(writer, SHUT_RDWR), 0, "shutdown: %s", strerror(errno));
	close(writer);
	close(pidfd);
	sleep_ms(300);
	unsigned long long before = cpu_ticks(a);
	sleep_ms(1000);
	unsigned long long used = cpu_ticks(a) - before;
	long hz = sysconf(_SC_CLK_TCK);
	cr_assert_lt(used, (unsigned long long)hz / 10, "provider A used %llu of %ld ticks in a second after its channel "
						       "was shut", used, hz);
	cr_assert_eq(file_wait_count(m.log, "the artifact channel was shut by its writer", 1, 2000), 1);
	/* B goes on */
	cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, "x", 1), 204);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}
