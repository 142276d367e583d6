/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* e2e_recovery: one recovery path for the ledger, whatever starts the
 * association (docs/RELIABILITY.md "Recovery of the ledger"), against the
 * real binary as root. A live segment torn while nothing runs (a block cut
 * short, a zero-filled block header with whole blocks after it) is cut at
 * start-up; a torn block met by a RESTARTED association is cut by the
 * supervisor before the restart, so the run goes on; a complete block whose
 * bytes were altered breaks the chain and stops the run once, with no
 * restart loop. Every run that goes on confirms new requests, stops with
 * status 0 and leaves a ledger `verify` accepts. Only pids this process
 * started are ever signalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/harness.h"
#include "../common/ledger_damage.h"
#include "../../lib/ledger2.h"
#include "../../runner/append_only.h"
#include "../../runner/ledger_file.h"
#include "../../roles/provider/provider_internal.h"

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

/* The live segment as it is now, read whole. */
static void read_segment(struct dmg_segment *s)
{
	cr_assert_eq(dmg_read(m.ledger, s), 0, "%s is no readable version 2 segment", m.ledger);
}

/* Rewrites the stopped run's ledger (nothing holds it): the inode flag is
 * lifted, as only root can, and set again by the next start. */
static void rewrite_ledger(const void *data, size_t len)
{
	char err[512];
	cr_assert_eq(append_only_clear(m.ledger, err, sizeof(err)), 0, "%s", err);
	int fd = open(m.ledger, O_WRONLY | O_TRUNC | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", m.ledger, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
}

/* The log says exactly this cut once (of the block at offset, blocks
 * complete blocks before it), and its bytes are saved beside the ledger. */
static void assert_cut_logged(size_t offset, const void *cut, size_t cut_len, const char *why, size_t blocks)
{
	char want[2 * PATH_MAX + 256];
	snprintf(want, sizeof(want), "ledger %s: cut %zu bytes at offset %zu (%s, at offset %zu; %zu complete blocks "
		 "kept): %zu bytes saved in %s.cut-%zu\n", m.ledger, cut_len, offset, why, offset, blocks, cut_len, m.ledger,
		 offset);
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

	/* 1. torn in the middle of the last block */
	struct dmg_segment s;
	read_segment(&s);
	cr_assert_eq(s.end, s.len, "a cleanly stopped run left %zu torn bytes", s.len - s.end);
	size_t last = s.block_off[s.n_blocks - 1], torn = last + (s.len - last) / 2;
	rewrite_ledger(s.bytes, torn);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start on the torn ledger (log: %s)", m.log);
	assert_cut_logged(last, s.bytes + last, torn - last, "a block that runs past the end of the file",
			  s.n_blocks - 1);
	post_and_confirm(10, "after a torn block");
	stop_cleanly();
	dmg_free(&s);

	/* 2. a power cut: zeros inside the header of the third block from the
	 * end (its time and length), whole blocks after it */
	read_segment(&s);
	cr_assert_geq(s.n_blocks, 4, "too few blocks to judge");
	size_t from = s.block_off[s.n_blocks - 3];
	memset(s.bytes + from + 5, 0, 20);
	rewrite_ledger(s.bytes, s.len);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start on the zero-filled ledger (log: %s)", m.log);
	assert_cut_logged(from, s.bytes + from, s.len - from, "a block whose length is out of range", s.n_blocks - 3);
	post_and_confirm(10, "after a zero-filled block");
	stop_cleanly();
	dmg_free(&s);
}

/* The association killed; while it waits for its restart, the live
 * segment gets a torn last block (as a kill in the middle of its write
 * leaves). The supervisor cuts it before the restart: no refusal, no
 * restart loop. */
Test(e2e_recovery, restarted_association_meets_a_torn_block_and_the_run_goes_on)
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

	cr_assert_geq(dmg_append_torn_block(m.ledger, 300, 40), 0, "append to %s: %s", m.ledger, strerror(errno));
	struct dmg_segment torn;
	read_segment(&torn);
	cr_assert_gt(torn.len - torn.end, 40, "no torn block at the end of %s", m.ledger);

	cr_assert_gt(mpbs_wait_role(&m, "mpbs-assoc", assoc, 6000 * harness_time_scale()), 0,
		     "the association did not restart (log: %s)", m.log);
	cr_assert_eq(file_wait_count(m.log, "association restarted", 1, 3000), 1, "(log: %s)", m.log);
	assert_cut_logged(torn.end, torn.bytes + torn.end, torn.len - torn.end,
			  "a block that runs past the end of the file", torn.n_blocks);
	dmg_free(&torn);
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

/* Waits until the live segment ends with a signed head (the association
 * signs a quiet ledger's tail within about a second) and reads it. */
static void read_signed_segment(struct dmg_segment *s)
{
	uint64_t deadline = mono_ms() + 5000u * (uint64_t)harness_time_scale();
	for (;;) {
		read_segment(s);
		if (s->end == s->len && dmg_last_block_of(s, L2_HEAD) == s->n_blocks - 1)
			return;
		dmg_free(s);
		cr_assert_lt(mono_ms(), deadline, "%s does not end with a head (log: %s)", m.ledger, m.log);
		sleep_ms(50);
	}
}

/* A complete block whose bytes were altered (the last byte of a
 * checkpoint's signature, a head signing the block after it) is no torn
 * write: nothing is cut, the restarted association's rebuild finds the
 * checkpoint that no longer verifies (before the head that would catch it
 * too) and says so once, and the run stops instead of restarting it until
 * its budget runs out. */
Test(e2e_recovery, restarted_association_refuses_a_broken_chain_once_and_the_run_stops)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 1000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(3, "before the forgery");
	struct dmg_segment s;
	read_signed_segment(&s);
	struct dmg_record k;
	cr_assert(dmg_last_record(&s, L2_CHECKPOINT, s.n_blocks - 1, &k), "no checkpoint before the last head");
	size_t head = dmg_first_block_of(&s, L2_HEAD, k.block + 1);
	cr_assert_neq(head, SIZE_MAX);
	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(assoc, 0);
	cr_assert_eq(kill(assoc, SIGKILL), 0);
	cr_assert_eq(file_wait_count(m.log, "association will restart in", 1, 3000), 1, "(log: %s)", m.log);
	cr_assert_eq(dmg_flip_byte(m.ledger, k.off + k.len - 1), 0, "alter %s: %s", m.ledger, strerror(errno));

	int st = 0;
	cr_assert_eq(wait_exit(10000 * harness_time_scale(), &st), 0, "the run did not stop (log: %s)", m.log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "mpbs-run ended with status 0x%x, expected exit 1", st);
	char want[256];
	snprintf(want, sizeof(want),
		 "association: cannot start: ledger: the live segment cannot be continued: block %zu (offset %zu): "
		 "checkpoint record: provider ",
		 k.block + 1, s.block_off[k.block]);
	cr_assert_eq(file_count(m.log, want), 1, "the log does not say once: %s (log: %s)", want, m.log);
	cr_assert_eq(file_count(m.log, " does not verify\n"), 1, "(log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "cannot start"), 1, "said more than once (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "will restart in"), 1, "restarted again (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "restart budget exhausted"), 0, "(log: %s)", m.log);
	cr_assert_eq(file_count(m.log, ": cut "), 0, "a complete block was cut (log: %s)", m.log);
	size_t len = 0;
	char *after = read_file(m.ledger, &len), pattern[PATH_MAX + 16];
	cr_assert_eq(len, s.len, "the ledger changed size from %zu to %zu bytes", s.len, len);
	free(after);
	glob_t cut_files;
	snprintf(pattern, sizeof(pattern), "%s.cut-*", m.ledger);
	cr_assert_eq(glob(pattern, 0, NULL, &cut_files), GLOB_NOMATCH, "a cut was saved beside %s", m.ledger);
	globfree(&cut_files);
	dmg_free(&s);
}

/* Covered signals that make the rule hold for an operation whose
 * `confirmed` entry the ledger lacks (the association writes a checkpoint
 * and the confirmations it causes in one block as a rule, but a record
 * can be lost between them). The ledger is left so here: everything after
 * its last checkpoint record is taken away from a stopped run's live
 * segment, that record's block framed again to end with it. The next start
 * rebuilds, finds the rule holding for those operations with no record,
 * and writes each `confirmed` once. */
Test(e2e_recovery, confirmations_the_ledger_lacks_are_written_once_at_the_next_start)
{
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_and_confirm(30, "before");
	size_t total = ledger_count(m.ledger, "confirmed");
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);

	char *text = ledger_jsonl(m.ledger);
	cr_assert_not_null(text, "cannot read %s", m.ledger);
	char *last = NULL;
	for (char *p = strstr(text, "\"type\":\"checkpoint\""); p; p = strstr(p + 1, "\"type\":\"checkpoint\""))
		last = p;
	cr_assert_not_null(last, "no checkpoint in the ledger");
	size_t lost = 0;
	for (char *p = strstr(last, "\"type\":\"confirmed\""); p; p = strstr(p + 1, "\"type\":\"confirmed\""))
		lost++;
	free(text);
	cr_assert_gt(lost, 0, "no confirmation follows the last checkpoint (ledger %s)", m.ledger);
	struct dmg_segment s;
	read_segment(&s);
	struct dmg_record k;
	cr_assert(dmg_last_record(&s, L2_CHECKPOINT, s.n_blocks, &k));
	size_t len;
	uint8_t *kept = dmg_keep_through(&s, &k, &len);
	cr_assert_not_null(kept);
	rewrite_ledger(kept, len);
	free(kept);
	dmg_free(&s);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), total - lost);

	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not start again (log: %s)", m.log);
	cr_assert_geq(ledger_wait_count(m.ledger, "confirmed", total, 5000 * harness_time_scale()), total,
		      "the %zu confirmations the ledger lacked were not written (log: %s)", lost, m.log);
	char want[128];
	snprintf(want, sizeof(want), "confirmed %zu operations the ledger had covered but not yet recorded as confirmed\n",
		 lost);
	cr_assert_eq(file_count(m.log, want), 1, "the log does not say '%s' (log: %s)", want, m.log);
	post_and_confirm(5, "after");
	stop_cleanly();
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), total + 5);
}

/* A provider sends its signals uncovered only when OUT_BATCH (320) of them
 * are queued before its checkpoint is due (roles/provider/emit.c). With
 * the timer and the count out of the way (checkpoint_ms 30 s,
 * checkpoint_every 1000), 170 operations leave each provider's first 320
 * signals in the ledger uncovered and 20 more held; the association is
 * killed then. Its rebuild takes the 320 back as uncovered, the supervisor
 * has the providers send their journals again, each covers its chain at
 * once, and all 170 are confirmed exactly once. */
#define UNCOVERED_OPS 170
Test(e2e_recovery, uncovered_signals_in_the_ledger_are_covered_after_the_association_restarts)
{
	_Static_assert(2 * UNCOVERED_OPS > OUT_BATCH && 2 * UNCOVERED_OPS < 2 * OUT_BATCH, "one send batch, then held");
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "provider A", "checkpoint_ms = 30000\ncheckpoint_every = 1000\n"), 0);
	cr_assert_eq(topology_insert(m.topology, "provider B", "checkpoint_ms = 30000\ncheckpoint_every = 1000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	for (int i = 0; i < UNCOVERED_OPS; i++) {
		char body[32];
		int len = snprintf(body, sizeof(body), "uncovered %d", i);
		cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, body, (size_t)len), 204, "request %d", i);
	}
	cr_assert_eq(ledger_wait_count(m.ledger, "signal", 2 * OUT_BATCH, 5000 * harness_time_scale()), 2 * OUT_BATCH,
		     "each provider's first %d signals are not in the ledger (log: %s)", OUT_BATCH, m.log);
	sleep_ms(200); /* nothing more comes before a checkpoint */
	cr_assert_eq(ledger_count(m.ledger, "signal"), 2 * OUT_BATCH, "signals beyond a full send batch were sent uncovered");
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 0, "confirmed before any checkpoint covered its signals");

	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(assoc, 0);
	cr_assert_eq(kill(assoc, SIGKILL), 0);
	cr_assert_gt(mpbs_wait_role(&m, "mpbs-assoc", assoc, 6000 * harness_time_scale()), 0,
		     "the association did not restart (log: %s)", m.log);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", UNCOVERED_OPS, 5000 * harness_time_scale()), UNCOVERED_OPS,
		     "the %d operations were not all confirmed after the restart (log: %s)", UNCOVERED_OPS, m.log);
	stop_cleanly();
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), UNCOVERED_OPS);
	cr_assert_eq(ledger_count(m.ledger, "incomplete"), 0);
}
