/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_segments: the supervisor's side of the ledger's segment files with
 * the real mpbs-run (runner/segments.c): what it refuses at start.
 * e2e_rotation: rotation under load with small segments, retention by
 * keep_segments, and kills of the association and of the whole tree while
 * segments rotate; each ends with `mpbs-run verify` (and the independent
 * reader, contrib/ledger/mpbs_ledger.py, where it can run). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/ledger2_files.h"
#include "../../lib/ledger2_walk.h"
#include "../common/harness.h"
#include "../common/load.h"

#define EX_CONFIG 78

static struct mpbs m;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0, "temporary topology");
}

static void teardown(void)
{
	mpbs_cleanup(&m);
}

TestSuite(e2e_segments, .init = setup, .fini = teardown, .timeout = 60);

/* `mpbs-run <topology>` to completion (a run that is not refused gets
 * SIGTERM after 10 s: status 124). */
static int run(char **out)
{
	char *argv[] = { "timeout", "-s", "TERM", "10", (char *)mpbs_binary(), m.topology, NULL };
	return run_cmd(argv, out);
}

Test(e2e_segments, a_version_1_ledger_is_refused_with_exit_78_and_its_upgrade_path)
{
	static const char v1[] = "{\"seq\":1,\"type\":\"start\",\"provider\":\"A\"}\n";
	cr_assert_eq(write_text_file(m.ledger, v1), 0);
	char *out = NULL;
	int rc = run(&out);
	cr_assert_eq(rc, EX_CONFIG, "status %d: %s", rc, out);
	char want[2 * PATH_MAX + 128];
	snprintf(want, sizeof(want), "ledger %s is a version 1 ledger (JSON Lines)", m.ledger);
	cr_assert_not_null(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "`mpbs-run verify %s --topology TOPOLOGY`, then `mpbs-run ledger upgrade %s`",
		 m.ledger, m.ledger);
	cr_assert_not_null(strstr(out, want), "%s", out);
	size_t len;
	char *kept = read_file(m.ledger, &len);
	cr_assert_eq(len, strlen(v1), "the version 1 ledger was changed");
	cr_assert_eq(memcmp(kept, v1, len), 0);
	free(kept);
	char next[PATH_MAX + 8];
	snprintf(next, sizeof(next), "%s.next", m.ledger);
	struct stat st;
	cr_assert(stat(next, &st) < 0, "a spare was made beside a refused ledger");
	free(out);
}

Test(e2e_segments, a_missing_live_segment_after_sealed_ones_is_refused_with_exit_78)
{
	char sealed[PATH_MAX + 16];
	snprintf(sealed, sizeof(sealed), "%s.000001", m.ledger);
	cr_assert_eq(write_text_file(sealed, "MPBSLDG2"), 0);
	char *out = NULL;
	int rc = run(&out);
	cr_assert_eq(rc, EX_CONFIG, "status %d: %s", rc, out);
	cr_assert_not_null(strstr(out, "is missing while sealed segments exist up to"), "%s", out);
	struct stat st;
	cr_assert(stat(m.ledger, &st) < 0, "a fresh live segment was made: it would restart the chain");
	free(out);
}

/* ------------------------------------------------------------ rotation */

#define LOAD_THREADS 3
#define SEGMENT_SIZE (64 * 1024) /* the smallest segment_size */
#define FAST_RESTARTS "restart_backoff_ms = 100\nrestart_backoff_max_ms = 200\nrestart_budget = 30\n"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

TestSuite(e2e_rotation, .init = need_root, .fini = teardown, .timeout = 60);

/* A and B (confirm = all) with 64K segments; extra goes to [association]. */
static void start_rotating(const char *extra)
{
	char lines[256];
	snprintf(lines, sizeof(lines), "segment_size = 64K\n%s", extra);
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "temporary topology");
	cr_assert_eq(topology_insert(m.topology, "association", lines), 0);
	cr_assert_eq(topology_insert(m.topology, "runner", FAST_RESTARTS), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
}

/* The sealed segments' names beside the ledger, LEDGER.NNNNNN. */
struct sealed_set {
	size_t count;
	uint32_t oldest, newest;
};

static struct sealed_set sealed_now(void)
{
	struct sealed_set s = { 0 };
	const char *base = strrchr(m.ledger, '/') + 1;
	size_t blen = strlen(base);
	DIR *d = opendir(m.dir);
	cr_assert_not_null(d, "%s: %s", m.dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		const char *digits = e->d_name + blen + 1;
		if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '.' || strlen(digits) < 6 ||
		    strspn(digits, "0123456789") != strlen(digits))
			continue;
		uint32_t n = (uint32_t)strtoul(digits, NULL, 10);
		s.oldest = s.count == 0 || n < s.oldest ? n : s.oldest;
		s.newest = n > s.newest ? n : s.newest;
		s.count++;
	}
	closedir(d);
	return s;
}

/* Waits until a sealed segment numbered at least n exists; returns the newest. */
static uint32_t wait_sealed(uint32_t n, int timeout_ms)
{
	uint64_t until = mono_ms() + (uint64_t)timeout_ms * (uint64_t)harness_time_scale();
	uint32_t newest;
	while ((newest = sealed_now().newest) < n && mono_ms() < until)
		sleep_ms(20);
	return newest;
}

static uint64_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Waits until the live segment is nearly full (a rotation is at hand). */
static void wait_nearly_full(void)
{
	uint64_t until = mono_ms() + 10000u * (uint64_t)harness_time_scale();
	while (size_of(m.ledger) < SEGMENT_SIZE - 4096 && mono_ms() < until)
		sleep_ms(2);
}

static char *path_of_sealed(uint32_t n)
{
	char *p = NULL;
	cr_assert_gt(asprintf(&p, "%s.%06" PRIu32, m.ledger, n), 0);
	return p;
}

static int verify_ledger(char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--topology", m.topology, "--no-progress", NULL };
	return run_cmd(argv, out);
}

/* The confirmed count of an `OK: N records, C confirmed` line. */
static size_t ok_confirmed(const char *out)
{
	const char *ok = strstr(out, "OK: ");
	unsigned long long records, confirmed;
	cr_assert(ok && sscanf(ok, "OK: %llu records, %llu confirmed", &records, &confirmed) == 2, "%s", out);
	return (size_t)confirmed;
}

/* verify exits 0, names every segment from first to the live one (number
 * live) and says also (when not NULL); returns its confirmed count. */
static size_t verify_names_every_segment(uint32_t first, uint32_t live, const char *also)
{
	char *out = NULL, line[PATH_MAX + 64];
	int rc = verify_ledger(&out);
	cr_assert_eq(rc, 0, "verify exited %d:\n%s", rc, out);
	for (uint32_t n = first; n < live; n++) {
		char *sealed = path_of_sealed(n);
		snprintf(line, sizeof(line), "segment %" PRIu32 " (%s): OK, ", n, sealed);
		cr_assert_not_null(strstr(out, line), "no '%s' in:\n%s", line, out);
		cr_assert_not_null(strstr(strstr(out, line), ", sealed\n"), "segment %" PRIu32 " not sealed:\n%s", n, out);
		free(sealed);
	}
	snprintf(line, sizeof(line), "segment %" PRIu32 " (%s): OK, ", live, m.ledger);
	cr_assert_not_null(strstr(out, line), "no '%s' in:\n%s", line, out);
	snprintf(line, sizeof(line), " confirmed in %" PRIu32 " segments", live - first + 1);
	cr_assert_not_null(strstr(out, line), "no '%s' in:\n%s", line, out);
	cr_assert(!also || strstr(out, also), "no '%s' in:\n%s", also, out);
	size_t confirmed = ok_confirmed(out);
	free(out);
	return confirmed;
}

/* The independent reader over the same ledger agrees on the confirmed
 * count; skipped (said so) without python3 and its cryptography module. */
static void reader_agrees(size_t confirmed)
{
	char *out = NULL;
	char *probe[] = { "python3", "-c", "import cryptography", NULL };
	if (run_cmd(probe, &out) != 0) {
		cr_log_warn("the independent reader is not run: python3 with the cryptography module is not there (%s)",
			    out ? out : "");
		free(out);
		return;
	}
	free(out);
	char reader[PATH_MAX], keys[PATH_MAX + 8], assoc[PATH_MAX + 32];
	snprintf(reader, sizeof(reader), "%s/contrib/ledger/mpbs_ledger.py", mpbs_srcdir());
	snprintf(keys, sizeof(keys), "%s/keys", m.dir);
	snprintf(assoc, sizeof(assoc), "%s/association-keys/signal.pub", m.dir);
	char *argv[] = { "python3", reader, m.ledger, "--keys-dir", keys, "--association-key", assoc, "--confirm", "all",
			 NULL };
	int rc = run_cmd(argv, &out);
	cr_assert_eq(rc, 0, "mpbs_ledger.py exited %d:\n%s", rc, out);
	cr_assert_eq(ok_confirmed(out), confirmed, "verify counts %zu confirmed, mpbs_ledger.py:\n%s", confirmed, out);
	free(out);
}

/* Confirmations in the ledger: entries, distinct operations, and distinct
 * operations confirmed after record `boundary` that no signal at or before
 * it named (operations of a later run). */
struct scan {
	uint64_t boundary, last_record;
	size_t confirmed, distinct, new_distinct;
	json_t *old_ops, *confirmed_ops;
};

static int scan_entry(void *ctx, const struct l2_entry *e)
{
	struct scan *s = ctx;
	char hex[65];
	s->last_record = e->record;
	if (e->type != L2_SIGNALS && e->type != L2_CONFIRMED)
		return 0;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", e->op[i]);
	if (e->type == L2_SIGNALS) {
		if (e->record <= s->boundary)
			json_object_set_new(s->old_ops, hex, json_true());
		return 0;
	}
	s->confirmed++;
	if (!json_object_get(s->confirmed_ops, hex)) {
		json_object_set_new(s->confirmed_ops, hex, json_true());
		s->distinct++;
		if (e->record > s->boundary && !json_object_get(s->old_ops, hex))
			s->new_distinct++;
	}
	return 0;
}

/* The run may be rotating while it is read: the files are listed by name,
 * then walked, and a rotation in between renames the spare that was
 * listed as the next segment to the live path and puts a fresh, empty
 * spare in its place ("an empty file"). Such a walk is read again. */
static struct scan scan_ledger(uint64_t boundary)
{
	struct scan s;
	char why[512];
	int rc = -1;
	for (int attempt = 0; attempt < 5 && rc != 0; attempt++) {
		if (attempt) {
			json_decref(s.old_ops);
			json_decref(s.confirmed_ops);
			sleep_ms(200);
		}
		s = (struct scan){ .boundary = boundary, .old_ops = json_object(), .confirmed_ops = json_object() };
		rc = l2_walk_ledger(m.ledger, scan_entry, &s, why, sizeof(why));
	}
	cr_assert_eq(rc, 0, "%s", why);
	json_decref(s.old_ops);
	json_decref(s.confirmed_ops);
	s.old_ops = s.confirmed_ops = NULL;
	return s;
}

/* Every answered request of a load confirmed once: the ledger has no
 * confirmation twice and at least as many operations as answered (those
 * whose answer was lost may be confirmed too). */
static void confirmed_once(const struct scan *s, size_t ops, const struct load_counts *c, const char *what)
{
	cr_assert_eq(s->confirmed, s->distinct, "%zu duplicate confirmations", s->confirmed - s->distinct);
	cr_assert_geq(ops, c->answered, "%s: %zu requests answered, %zu operations confirmed", what, c->answered, ops);
	cr_assert_leq(ops, c->answered + c->unknown, "%s: %zu operations confirmed for %zu answered (+%zu unknown)", what,
		      ops, c->answered, c->unknown);
}

/* Whether the files of the ledger name their segments as the files state
 * them: no number twice (l2_segment_files refuses that), each sealed one
 * at LEDGER.NNNNNN of its number, in sequence, the live one the newest, the
 * spare empty. Returns the live segment's number, or 0 with why set. */
static uint32_t names_reconciled_now(char *why, size_t len)
{
	struct l2_segment_file *files = NULL;
	size_t n = 0;
	uint32_t live = 0;
	char spare[PATH_MAX + 8];
	struct stat st;
	snprintf(spare, sizeof(spare), "%s.next", m.ledger);
	if (l2_segment_files(m.ledger, &files, &n, why, len) < 0)
		return 0;
	if (n < 2)
		snprintf(why, len, "%zu segment files", n);
	else if (strcmp(files[n - 1].path, m.ledger) != 0)
		snprintf(why, len, "the newest segment (%" PRIu32 ") is in %s", files[n - 1].segment, files[n - 1].path);
	else if (stat(spare, &st) < 0 || st.st_size != 0)
		snprintf(why, len, "the spare %s: %s", spare, st.st_size ? "not empty" : strerror(errno));
	else
		live = files[n - 1].segment;
	for (size_t i = 0; live && i + 1 < n; i++) {
		char *want = path_of_sealed(files[i].segment);
		if (strcmp(files[i].path, want) != 0 || files[i].segment + 1 != files[i + 1].segment) {
			snprintf(why, len, "segment %" PRIu32 " is in %s, followed by %" PRIu32, files[i].segment,
				 files[i].path, files[i + 1].segment);
			live = 0;
		}
		free(want);
	}
	l2_segment_files_free(files, n);
	return live;
}

/* The same, waited for while a rotation may be under way (the association
 * writes the next segment into the spare, then the supervisor renames). */
static uint32_t names_reconciled(void)
{
	char why[PATH_MAX + 256] = "";
	uint32_t live = 0;
	for (uint64_t until = mono_ms() + 3000; !(live = names_reconciled_now(why, sizeof(why))) && mono_ms() < until;)
		sleep_ms(20);
	cr_assert_gt(live, 0, "the ledger's files: %s", why);
	return live;
}

Test(e2e_rotation, under_load_every_answered_request_is_confirmed_once_over_sealed_segments)
{
	uint64_t t0 = mono_ms();
	start_rotating("");
	struct load l;
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "rot"), 0);
	uint32_t newest = wait_sealed(3, 30000);
	load_stop(&l);
	struct load_counts c = load_counts(&l);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	cr_assert_geq(newest, 3, "3 sealed segments of 64K within 30 s (%zu answered; log: %s)", c.answered, m.log);

	struct sealed_set s = sealed_now();
	cr_assert_eq(s.oldest, 1);
	cr_assert_eq(s.count, s.newest, "sealed segments 1..%" PRIu32 ": %zu files", s.newest, s.count);
	uint32_t live = names_reconciled();
	cr_assert_eq(live, s.newest + 1);
	for (uint32_t n = 1; n <= s.newest; n++) {
		char *sealed = path_of_sealed(n);
		cr_assert_geq(size_of(sealed), SEGMENT_SIZE, "%s was sealed before it was full", sealed);
		free(sealed);
	}
	struct scan sc = scan_ledger(0);
	confirmed_once(&sc, sc.distinct, &c, "one run");
	size_t verified = verify_names_every_segment(1, live, NULL);
	cr_assert_eq(verified, sc.distinct);
	reader_agrees(verified);
	cr_log_info("figures rotation_under_load: answered=%zu unknown=%zu confirmed=%zu segments=%" PRIu32
		    " total_ms=%llu", c.answered, c.unknown, sc.confirmed, live, (unsigned long long)(mono_ms() - t0));
}

Test(e2e_rotation, keep_segments_removes_the_oldest_and_never_touches_the_live_one)
{
	start_rotating("");
	struct load l;
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "keep1"), 0);
	uint32_t newest = wait_sealed(4, 30000);
	load_stop(&l);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	cr_assert_geq(newest, 4, "4 sealed segments within 30 s (log: %s)", m.log);
	newest = sealed_now().newest;

	/* The removal pass at start: the live segment is the same file, its
	 * bytes a prefix of what it holds after (the association appends). */
	struct stat before, after;
	size_t len0 = 0, len1 = 0;
	cr_assert_eq(stat(m.ledger, &before), 0);
	char *bytes0 = read_file(m.ledger, &len0);
	cr_assert_not_null(bytes0);
	cr_assert_eq(topology_insert(m.topology, "association", "keep_segments = 2\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not restart (log: %s)", m.log);
	names_reconciled();
	struct sealed_set s = sealed_now();
	cr_assert_eq(s.count, 2, "%zu sealed segments left with keep_segments = 2", s.count);
	cr_assert_eq(s.oldest + 1, s.newest);
	cr_assert_geq(s.newest, newest);
	cr_assert_eq(file_count(m.log, "keep_segments = 2)"), s.newest - 2, "one removal logged per segment (log: %s)",
		     m.log);
	/* still the live segment, or sealed by a rotation as the run began
	 * (its last head at the stop may have filled it) */
	char *was_live = s.newest > newest ? path_of_sealed(newest + 1) : strdup(m.ledger);
	cr_assert_eq(stat(was_live, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino, "the live segment was replaced");
	char *bytes1 = read_file(was_live, &len1);
	cr_assert_not_null(bytes1);
	cr_assert_geq(len1, len0);
	cr_assert_eq(memcmp(bytes0, bytes1, len0), 0, "the live segment's bytes changed");
	free(was_live);
	newest = s.newest;
	free(bytes0);
	free(bytes1);

	/* Rotations while it runs remove one each. */
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "keep2"), 0);
	uint32_t later = wait_sealed(newest + 2, 30000);
	load_stop(&l);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	cr_assert_geq(later, newest + 2, "two more rotations within 30 s (log: %s)", m.log);
	s = sealed_now();
	cr_assert_eq(s.count, 2, "%zu sealed segments left with keep_segments = 2", s.count);
	cr_assert_eq(s.oldest + 1, s.newest);
	uint32_t live = names_reconciled();
	cr_assert_eq(live, s.newest + 1);
	char starts[64];
	snprintf(starts, sizeof(starts), "\nstarts at segment %" PRIu32 " (record ", s.oldest);
	verify_names_every_segment(s.oldest, live, starts);
}

Test(e2e_rotation, kills_during_rotations_then_of_the_whole_tree_lose_nothing_answered)
{
	uint64_t t0 = mono_ms();
	start_rotating("");
	struct load l;
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "kill1"), 0);
	/* The association killed as its segment is about to rotate, and just
	 * after a rotation (the supervisor may be renaming). */
	for (int i = 0; i < 6; i++) {
		if (i % 2 == 0)
			wait_nearly_full();
		else
			wait_sealed(sealed_now().newest + 1, 10000);
		pid_t a = mpbs_role_pid(&m, "mpbs-assoc");
		cr_assert_gt(a, 0, "no association (log: %s)", m.log);
		cr_assert_eq(kill(a, SIGKILL), 0);
		cr_assert_gt(mpbs_wait_role(&m, "mpbs-assoc", a, 10000 * harness_time_scale()), 0,
			     "the association did not restart (log: %s)", m.log);
	}
	load_stop(&l);
	struct load_counts one = load_counts(&l);
	size_t settled = ledger_count_distinct_op(m.ledger, "confirmed");
	for (uint64_t until = mono_ms() + 10000; settled < one.answered && mono_ms() < until; sleep_ms(100))
		settled = ledger_count_distinct_op(m.ledger, "confirmed");
	struct scan s1 = scan_ledger(0);
	confirmed_once(&s1, s1.distinct, &one, "association kills");
	cr_assert_gt(sealed_now().newest, 1, "the kills came during rotations");

	/* The whole tree killed as a rotation is at hand, then a new run. */
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "kill2"), 0);
	wait_nearly_full();
	cr_assert_eq(mpbs_kill_tree(&m), 0, "kill the tree");
	load_stop(&l);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not restart on the same ledger (log: %s)", m.log);
	names_reconciled();
	uint64_t boundary = scan_ledger(0).last_record;
	uint32_t before = sealed_now().newest;
	cr_assert_eq(load_start(&l, m.port, LOAD_THREADS, 0, "kill3"), 0);
	wait_sealed(before + 1, 20000);
	load_stop(&l);
	struct load_counts three = load_counts(&l);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	cr_assert_gt(sealed_now().newest, before, "a rotation after the restart (log: %s)", m.log);

	uint32_t live = names_reconciled();
	struct scan s = scan_ledger(boundary);
	confirmed_once(&s, s.new_distinct, &three, "after the restart");
	cr_assert_geq(s.distinct, s1.distinct, "confirmations were lost");
	size_t verified = verify_names_every_segment(1, live, NULL);
	cr_assert_eq(verified, s.distinct);
	reader_agrees(verified);
	cr_log_info("figures rotation_kills: answered=%zu+%zu unknown=%zu+%zu confirmed=%zu segments=%" PRIu32
		    " total_ms=%llu", one.answered, three.answered, one.unknown, three.unknown, s.confirmed, live,
		    (unsigned long long)(mono_ms() - t0));
}
