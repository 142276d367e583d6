/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_verify_forgery: a real run writes a ledger with signed heads; then
 * forgeries are made on copies of it and `mpbs-run verify` must refuse
 * each: a confirmation's mask rewritten to name only A (confirm = all), a
 * block inserted and everything after it rechained through the heads, and
 * a cut measured against the head the run logged. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/harness.h"
#include "../common/ledger2_blocks.h"

static struct mpbs m;
static char copy[PATH_MAX + 16];

static void finish(void)
{
	if (copy[0])
		unlink(copy);
	mpbs_cleanup(&m);
}

TestSuite(e2e_verify_forgery, .fini = finish, .timeout = 120);

static int verify(const char *ledger, const char *expect_head, char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", (char *)ledger, "--topology", m.topology,
			 expect_head ? "--expect-head" : NULL, (char *)expect_head, NULL };
	return run_cmd(argv, out);
}

/* Runs A, B and C (confirm = all), confirms one operation, stops; returns
 * the last signed head the association logged at its stop. */
static char *run_once(void)
{
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "start");
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 10000 * harness_time_scale()), 1);
	cr_assert_eq(mpbs_stop(&m), 0);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	char *at = strstr(log, "last signed head ");
	cr_assert_not_null(at, "the association logs its last head at stop:\n%s", log);
	char *head = strndup(at + strlen("last signed head "), strcspn(at + strlen("last signed head "), " \n"));
	free(log);
	return head;
}

/* The ledger (one segment) in blocks; A B C in that order. */
static void load(struct l2b_file *f)
{
	cr_assert_eq(l2b_load(f, m.ledger), 0, "%s is not a whole version 2 segment", m.ledger);
	cr_assert_eq(f->hdr.n_providers, 3);
	cr_assert_str_eq(f->hdr.names[0], "A");
}

/* Writes blocks order[0, n) of f to the copy, every head's covers and
 * chain recomputed (their signatures a forger cannot make kept), as a
 * forger who rewrote a block would. */
static void write_forged(const struct l2b_file *f, const size_t *order, size_t n)
{
	snprintf(copy, sizeof(copy), "%s/forged", m.dir);
	cr_assert_eq(l2b_write(f, order, n, true, copy), 0, "write %s", copy);
}

Test(e2e_verify_forgery, the_genuine_ledger_holds_and_reports_the_logged_head)
{
	char *head = run_once(), *out = NULL;
	cr_assert_eq(verify(m.ledger, NULL, &out), 0, "%s", out);
	char want[256];
	snprintf(want, sizeof(want), "last signed head: %s (", head);
	cr_assert_not_null(strstr(out, want), "verify reports the head the run logged (%s):\n%s", head, out);
	cr_assert_not_null(strstr(out, "unsigned tail: 0 records"), "%s", out);
	free(out);
	cr_assert_eq(verify(m.ledger, head, &out), 0, "%s", out);
	snprintf(want, sizeof(want), "expected head %s: present\n", head);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(out);
	free(head);
}

Test(e2e_verify_forgery, a_confirmation_rewritten_to_name_only_A_fails_under_confirm_all)
{
	char *head = run_once(), *out = NULL;
	struct l2b_file f;
	load(&f);
	size_t conf = l2b_find(&f, 0, L2_CONFIRMED, -1, false), len = 0;
	cr_assert_lt(conf, f.n_recs);
	size_t mask = l2b_closed_mask(&f, conf, 0, &len);
	cr_assert_eq(len, 1);
	cr_assert_eq(f.bytes[mask], 0x07, "the genuine confirmation names A, B and C");
	f.bytes[mask] = 0x01; /* A alone, the varint as long as before */
	size_t *order = calloc(f.n_blocks, sizeof(*order));
	cr_assert_not_null(order);
	write_forged(&f, order, l2b_order(&f, order, SIZE_MAX));

	cr_assert_eq(verify(copy, NULL, &out), 1, "the forgery must fail:\n%s", out);
	const struct l2b_record *r = &f.recs[conf];
	char want[PATH_MAX + 256];
	snprintf(want, sizeof(want), "FAIL: %s: record %" PRIu64 " (block %zu, offset %zu): field \"mask\": confirmed ",
		 copy, r->number, r->block + 1, f.blocks[r->block].off);
	cr_assert_not_null(strstr(out, want), "expected '%s' in:\n%s", want, out);
	cr_assert_not_null(strstr(out, "names 1 providers, but confirm = 3\n"), "%s", out);
	free(out);
	free(order);
	l2b_free(&f);
	free(head);
}

Test(e2e_verify_forgery, a_rewrite_rechained_through_the_heads_fails_on_the_heads_signature)
{
	char *head = run_once(), *out = NULL;
	struct l2b_file f;
	load(&f);
	/* A block inserted after the segment record (a `rejected` of A, which
	 * the verifier accepts on its own before A opens its epoch),
	 * everything after it renumbered and rechained, heads included: their
	 * covers and chain recomputed, their signatures kept. */
	static const char rejected[] = "\0forged";
	size_t added = l2b_add_block(&f, 1, L2_REJECTED, rejected, sizeof(rejected) - 1);
	cr_assert_neq(added, SIZE_MAX);
	size_t *order = calloc(f.n_blocks, sizeof(*order));
	cr_assert_not_null(order);
	order[0] = 0;
	order[1] = added;
	for (size_t b = 1; b < added; b++)
		order[b + 1] = b;
	write_forged(&f, order, f.n_blocks);
	size_t first_head = l2b_find(&f, 0, L2_HEAD, -1, true);
	cr_assert_lt(first_head, f.n_recs);
	struct l2b_pos at = l2b_position(&f, order, f.recs[first_head].block + 1);
	cr_assert_eq(at.record, f.recs[first_head].number + 1);

	cr_assert_eq(verify(copy, NULL, &out), 1, "%s", out);
	char want[PATH_MAX + 256];
	snprintf(want, sizeof(want), "FAIL: %s: record %" PRIu64 " (block %zu, offset %zu): field \"sig\": head: bad "
		 "signature (it does not verify with the association's key)\n", copy, at.record, at.block, at.offset);
	cr_assert_not_null(strstr(out, want), "expected '%s' in:\n%s", want, out);
	free(out);
	free(order);
	l2b_free(&f);
	free(head);
}

Test(e2e_verify_forgery, a_cut_is_found_against_the_logged_head_and_only_so)
{
	char *head = run_once(), *out = NULL;
	struct l2b_file f;
	load(&f);
	/* Cut at the block boundary before the last confirmation: its block and
	 * the last head go. */
	size_t conf = l2b_find(&f, 0, L2_CONFIRMED, -1, false);
	cr_assert_lt(conf, f.n_recs);
	cr_assert_eq(l2b_find(&f, conf + 1, L2_CONFIRMED, -1, false), f.n_recs, "one confirmation");
	size_t *order = calloc(f.n_blocks, sizeof(*order));
	cr_assert_not_null(order);
	l2b_order(&f, order, SIZE_MAX);
	write_forged(&f, order, f.recs[conf].block);
	cr_assert_eq(verify(copy, NULL, &out), 0, "without a kept head a cut is a shorter valid ledger:\n%s", out);
	cr_assert_null(strstr(out, head), "its last head is an earlier one");
	cr_assert_not_null(strstr(out, ", 0 confirmed in 1 segments"), "%s", out);
	free(out);
	cr_assert_eq(verify(copy, head, &out), 1, "%s", out);
	char want[256];
	snprintf(want, sizeof(want), "expected head %s: the ledger ends at record %" PRIu64 " (records were cut off)",
		 head, f.recs[f.blocks[f.recs[conf].block].first_rec].number - 1);
	cr_assert_not_null(strstr(out, want), "expected '%s' in:\n%s", want, out);
	free(out);
	free(order);
	l2b_free(&f);
	free(head);
}

/* With --public-keys DIR the directory lists the providers: a genuine
 * ledger that names C, checked with a DIR holding only A's and B's keys,
 * fails as naming an unknown provider (exit 1), as with a topology that
 * lacks C; a DIR that is not there cannot be read (exit 2). */
Test(e2e_verify_forgery, a_provider_with_no_key_in_the_keys_dir_is_unknown)
{
	free(run_once());
	char dir[PATH_MAX + 16], cmd[PATH_MAX * 8], *out = NULL;
	snprintf(dir, sizeof(dir), "%s/two-keys", m.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/A' '%s/B' && cp '%s/keys/A/signal.pub' '%s/A/' && "
				   "cp '%s/keys/B/signal.pub' '%s/B/'",
		 dir, dir, m.dir, dir, m.dir, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--public-keys", dir, NULL };
	cr_assert_eq(run_cmd(argv, &out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "FAIL: "), "%s", out);
	cr_assert_not_null(strstr(out, "C"), "%s", out);
	free(out);
	snprintf(dir, sizeof(dir), "%s/no-such-dir", m.dir);
	argv[4] = dir;
	cr_assert_eq(run_cmd(argv, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "cannot read the public keys: "), "%s", out);
	free(out);
}
