/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* e2e_recovery: one recovery path for the ledger, whatever starts the
 * association (docs/RELIABILITY.md "Recovery of the ledger"), against the
 * real binary as root. A ledger torn while nothing runs (a partial line, a
 * zero-filled block with whole lines after it) is cut at start-up; a
 * partial line met by a RESTARTED association is cut by the supervisor
 * before the restart, so the run goes on; a complete line that breaks the
 * chain stops the run once, with no restart loop. Every run that goes on
 * confirms new requests, stops with status 0 and leaves a ledger `verify`
 * accepts. Only pids this process started are ever signalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/harness.h"
#include "../../runner/append_only.h"
#include "../../runner/ledger_file.h"

#define CTX "CTX_ALPHA"

HARNESS_ROOT_FIXTURE

TestSuite(e2e_recovery, .init = need_root, .fini = finish, .timeout = 120);

static void post_and_confirm(int n, const char *tag)
{
	size_t before = ledger_count(m.ledger, "confirmed");
	for (int i = 0; i < n; i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "%s %d", tag, i);
		cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, body, (size_t)len), 204, "%s: request %d", tag, i);
	}
	size_t confirmed = ledger_wait_count(m.ledger, "confirmed", before + (size_t)n, 5000);
	cr_assert_geq(confirmed, before + (size_t)n, "%s: %zu confirmed, expected %zu (log: %s)", tag, confirmed,
		      before + (size_t)n, m.log);
}

static void assert_verify_passes(void)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--topology", m.topology, NULL };
	char *out = NULL;
	int rc = run_cmd(argv, &out);
	cr_assert_eq(rc, 0, "verify exited %d: %s", rc, out ? out : "");
	free(out);
	cr_assert_eq(ledger_count_distinct_op(m.ledger, "confirmed"), ledger_count(m.ledger, "confirmed"),
		     "an op was confirmed twice");
}

static void stop_cleanly(void)
{
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);
	assert_verify_passes();
}

/* Offset just past the i-th newline from the end (i = 1: the last one). */
static size_t line_end_from_end(const char *text, size_t len, int i)
{
	for (size_t k = len; k > 0; k--)
		if (text[k - 1] == '\n' && --i == 0)
			return k;
	return 0;
}

/* Rewrites the stopped run's ledger (nothing holds it): the inode flag is
 * lifted, as only root can, and set again by the next start. */
static void rewrite_ledger(const char *data, size_t len)
{
	char err[512];
	cr_assert_eq(append_only_clear(m.ledger, err, sizeof(err)), 0, "%s", err);
	int fd = open(m.ledger, O_WRONLY | O_TRUNC | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", m.ledger, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
}

/* The log says exactly this cut once, and its bytes are saved beside the
 * ledger. */
static void assert_cut_logged(size_t offset, const char *cut, size_t cut_len, const char *why, size_t lines)
{
	char want[2 * PATH_MAX + 256];
	snprintf(want, sizeof(want), "ledger %s: cut %zu bytes at offset %zu (%s; %zu complete lines among them): %zu "
		 "bytes saved in %s.cut-%zu\n", m.ledger, cut_len, offset, why, lines, cut_len, m.ledger, offset);
	cr_assert_eq(file_count(m.log, want), 1, "the log does not say once: %s(log: %s)", want, m.log);
	char saved_path[PATH_MAX + 32];
	snprintf(saved_path, sizeof(saved_path), "%s.cut-%zu", m.ledger, offset);
	size_t len = 0;
	char *saved = read_file(saved_path, &len);
	cr_assert_not_null(saved, "no saved copy %s", saved_path);
	cr_assert_eq(len, cut_len);
	cr_assert_eq(memcmp(saved, cut, cut_len), 0, "%s does not hold the bytes cut", saved_path);
	free(saved);
}

Test(e2e_recovery, torn_ledger_of_a_stopped_run_is_cut_at_start_and_the_run_goes_on)
{
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(10, "first run");
	stop_cleanly();

	/* 1. torn in the middle of the last line */
	size_t len;
	char *orig = read_file(m.ledger, &len);
	cr_assert_not_null(orig);
	size_t last = line_end_from_end(orig, len, 2), torn = last + (len - last) / 2;
	rewrite_ledger(orig, torn);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start on the torn ledger (log: %s)", m.log);
	assert_cut_logged(last, orig + last, torn - last, "a partial last line", 0);
	post_and_confirm(10, "after a torn line");
	stop_cleanly();
	free(orig);

	/* 2. a power cut: zeros inside the third line from the end, whole
	 * lines after them */
	orig = read_file(m.ledger, &len);
	cr_assert_not_null(orig);
	size_t from = line_end_from_end(orig, len, 4), to = line_end_from_end(orig, len, 3);
	cr_assert_gt(to - from, 40);
	memset(orig + from + 10, 0, 20);
	rewrite_ledger(orig, len);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start on the zero-filled ledger (log: %s)", m.log);
	assert_cut_logged(from, orig + from, len - from, "from the start of a line holding a NUL byte", 3);
	post_and_confirm(10, "after a zero-filled block");
	stop_cleanly();
	free(orig);
}

/* The association killed; while it waits for its restart, the ledger gets
 * a partial last line (as a kill in the middle of its write leaves). The
 * supervisor cuts it before the restart: no refusal, no restart loop. */
Test(e2e_recovery, restarted_association_meets_a_partial_line_and_the_run_goes_on)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 2000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(10, "before the kill");
	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(assoc, 0);
	cr_assert_eq(kill(assoc, SIGKILL), 0);
	cr_assert_eq(file_wait_count(m.log, "association will restart in 2000 ms", 1, 3000), 1,
		     "no restart scheduled (log: %s)", m.log);

	/* O_APPEND is what the inode's append-only flag still allows */
	static const char partial[] = "{\"seq\":424242,\"prev\":\"00";
	int fd = open(m.ledger, O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", m.ledger, strerror(errno));
	cr_assert_eq(write(fd, partial, strlen(partial)), (ssize_t)strlen(partial));
	cr_assert_eq(close(fd), 0);
	size_t len;
	char *torn = read_file(m.ledger, &len);
	cr_assert_not_null(torn);
	size_t keep = line_end_from_end(torn, len, 1);

	cr_assert_gt(mpbs_wait_role(&m, "mpbs-assoc", assoc, 6000 * harness_time_scale()), 0,
		     "the association did not restart (log: %s)", m.log);
	cr_assert_eq(file_wait_count(m.log, "association restarted", 1, 3000), 1, "(log: %s)", m.log);
	assert_cut_logged(keep, torn + keep, len - keep, "a partial last line", 0);
	free(torn);
	post_and_confirm(10, "after the restart");
	cr_assert_eq(file_count(m.log, "will restart in"), 1, "a role restarted more than once (log: %s)", m.log);
	stop_cleanly();
}

static int wait_exit(int timeout_ms, int *status)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		if (waitpid(m.pid, status, WNOHANG) == m.pid) {
			m.pid = 0;
			return 0;
		}
		usleep(20 * 1000);
	}
	return -1;
}

/* A complete line that breaks the chain is no torn write: nothing is cut,
 * the restarted association says so once, and the run stops instead of
 * restarting it until its budget runs out. */
Test(e2e_recovery, restarted_association_refuses_a_broken_chain_once_and_the_run_stops)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 1000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(3, "before the forgery");
	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(assoc, 0);
	cr_assert_eq(kill(assoc, SIGKILL), 0);
	cr_assert_eq(file_wait_count(m.log, "association will restart in", 1, 3000), 1, "(log: %s)", m.log);
	static const char forged[] = "{\"seq\":1,\"prev\":\"00\",\"type\":\"rejected\"}\n";
	int fd = open(m.ledger, O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", m.ledger, strerror(errno));
	cr_assert_eq(write(fd, forged, strlen(forged)), (ssize_t)strlen(forged));
	cr_assert_eq(close(fd), 0);
	size_t lines = file_count(m.ledger, "\n");

	int st = 0;
	cr_assert_eq(wait_exit(10000 * harness_time_scale(), &st), 0, "the run did not stop (log: %s)", m.log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "mpbs-run ended with status 0x%x, expected exit 1", st);
	char want[128];
	snprintf(want, sizeof(want), "association: cannot start: ledger: ledger line %zu: seq is 1, expected %zu", lines,
		 lines);
	cr_assert_eq(file_count(m.log, want), 1, "the log does not say once: %s (log: %s)", want, m.log);
	cr_assert_eq(file_count(m.log, "cannot start"), 1, "said more than once (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "will restart in"), 1, "restarted again (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "restart budget exhausted"), 0, "(log: %s)", m.log);
	cr_assert_eq(file_count(m.log, ": cut "), 0, "a complete line was cut (log: %s)", m.log);
}

/* A kill can fall between a checkpoint's record and the `confirmed` records
 * it made (they are written together, and a write can be cut between two
 * lines). The ledger is left so here: everything after its last checkpoint
 * is taken away from a stopped run's ledger. The next start rebuilds, finds
 * the rule holding for those operations with no record, and writes each
 * `confirmed` once. */
Test(e2e_recovery, confirmations_the_ledger_lacks_are_written_once_at_the_next_start)
{
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(30, "before");
	size_t total = ledger_count(m.ledger, "confirmed");
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);

	size_t len = 0;
	char *text = read_file(m.ledger, &len);
	cr_assert_not_null(text);
	char *last = NULL;
	for (char *p = strstr(text, "\"type\":\"checkpoint\""); p; p = strstr(p + 1, "\"type\":\"checkpoint\""))
		last = p;
	cr_assert_not_null(last, "no checkpoint in the ledger");
	char *cut = memchr(last, '\n', len - (size_t)(last - text));
	cr_assert_not_null(cut);
	cut++;
	size_t lost = 0;
	for (char *p = strstr(cut, "\"type\":\"confirmed\""); p; p = strstr(p + 1, "\"type\":\"confirmed\""))
		lost++;
	cr_assert_gt(lost, 0, "no confirmation follows the last checkpoint (ledger %s)", m.ledger);
	rewrite_ledger(text, (size_t)(cut - text));
	free(text);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), total - lost);

	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start again (log: %s)", m.log);
	cr_assert_geq(ledger_wait_count(m.ledger, "confirmed", total, 5000 * harness_time_scale()), total,
		      "the %zu confirmations the ledger lacked were not written (log: %s)", lost, m.log);
	char want[128];
	snprintf(want, sizeof(want), "confirmed %zu operations the ledger had covered but not yet recorded", lost);
	cr_assert_eq(file_count(m.log, want), 1, "the log does not say '%s' (log: %s)", want, m.log);
	post_and_confirm(5, "after");
	stop_cleanly();
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), total + 5);
}
