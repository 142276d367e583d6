/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_verify_segments: `mpbs-run verify` and `mpbs-run ledger cat` through
 * the real binary on version 2 ledgers of several segments written with the
 * association's encoder (tests/common/ledger2_gen.h) and real keys: the
 * segments are found beside the live one, each gets its line, the last
 * signed head is the one written, a tampered or missing segment is named,
 * and cat prints every record. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/keys.h"
#include "../common/cmd.h"
#include "../common/harness.h"
#include "../common/ledger2_blocks.h"
#include "../common/ledger2_gen.h"

struct ledger_dir {
	char dir[64], ledger[128], keys[128], association[160];
	struct gen_ledger g;
};

static void make_ledger(struct ledger_dir *d, uint64_t ops, uint64_t segment_size)
{
	char path[256], err[512];
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/mpbs-e2e-l2-XXXXXX");
	cr_assert_not_null(mkdtemp(d->dir));
	snprintf(d->ledger, sizeof(d->ledger), "%s/ledger", d->dir);
	snprintf(d->keys, sizeof(d->keys), "%s/keys", d->dir);
	snprintf(d->association, sizeof(d->association), "%s/association.pub", d->keys);
	d->g = (struct gen_ledger){ .path = d->ledger, .n_providers = 3, .ops = ops, .batch = 32,
				    .segment_size = segment_size, .rotate_phases = GEN_AT_ANY, .seed = 11 };
	gen_ledger_keys(&d->g);
	cr_assert_eq(gen_ledger_write(&d->g, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(d->g.segments, 3);
	cr_assert_eq(mkdir(d->keys, 0755), 0);
	for (size_t p = 0; p < d->g.n_providers; p++) {
		snprintf(path, sizeof(path), "%s/%s.pub", d->keys, d->g.names[p]);
		cr_assert_eq(keys_store_hex(path, d->g.provider_pk[p], 32, 0644, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(keys_store_hex(d->association, d->g.association_pk, 32, 0644, err, sizeof(err)), 0, "%s", err);
}

static void remove_ledger(struct ledger_dir *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	cr_assert_eq(system(cmd), 0);
}

static void verify(struct cmd_result *r, struct ledger_dir *d, const char *extra1, const char *extra2)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", d->ledger, "--public-keys", d->keys, "--association-key",
			 d->association, "--no-progress", (char *)extra1, (char *)extra2, NULL };
	cmd_run(r, NULL, (uid_t)-1, argv);
}

Test(e2e_verify_segments, finds_every_segment_and_the_last_signed_head)
{
	struct ledger_dir d;
	struct cmd_result r;
	char head[LEDGER_HEAD_TEXT_MAX], want[LEDGER_HEAD_TEXT_MAX + 32];
	make_ledger(&d, 1500, 64 * 1024);
	ledger_head_format(&d.g.last_head, head);
	verify(&r, &d, "--expect-head", head);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	for (uint32_t n = 1; n < d.g.segments; n++) {
		char line[256];
		snprintf(line, sizeof(line), "segment %u (%s.%06u): OK", n, d.ledger, n);
		cr_assert(strstr(r.out, line), "no \"%s\" in:\n%s", line, r.out);
	}
	cr_assert(strstr(r.out, "live (not sealed)"), "%s", r.out);
	cr_assert(strstr(r.out, "1500 confirmed in"), "%s", r.out);
	snprintf(want, sizeof(want), "last signed head: %s", head);
	cr_assert(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
	cr_assert(strstr(r.out, "confirmed ops/s"), "%s", r.out);
	cmd_result_free(&r);

	verify(&r, &d, "--json", "--jobs=1");
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	json_error_t jerr;
	json_t *o = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(o, "%s: %s", jerr.text, r.out);
	cr_assert(json_is_true(json_object_get(o, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(o, "confirmed")), 1500);
	cr_assert_eq(json_integer_value(json_object_get(o, "segments")), d.g.segments);
	cr_assert_eq(json_integer_value(json_object_get(o, "records")), (json_int_t)d.g.records);
	cr_assert(json_is_number(json_object_get(o, "seconds")));
	json_decref(o);
	cmd_result_free(&r);
	remove_ledger(&d);
}

Test(e2e_verify_segments, a_tampered_or_missing_segment_is_named)
{
	struct ledger_dir d;
	struct cmd_result r;
	char seg2[160];
	make_ledger(&d, 1500, 64 * 1024);
	snprintf(seg2, sizeof(seg2), "%s.000002", d.ledger);
	int fd = open(seg2, O_RDWR);
	cr_assert_geq(fd, 0);
	uint8_t byte;
	off_t at = 3000; /* inside a block of signals: a value, an op or a signature */
	cr_assert_eq(pread(fd, &byte, 1, at), 1);
	byte ^= 0x10;
	cr_assert_eq(pwrite(fd, &byte, 1, at), 1);
	verify(&r, &d, NULL, NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	char want[200];
	snprintf(want, sizeof(want), "FAIL: %s: record ", seg2);
	cr_assert(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
	cr_assert(strstr(r.out, "segment 1 ("), "%s", r.out);
	cmd_result_free(&r);
	cr_assert_eq(unlink(seg2), 0);
	verify(&r, &d, NULL, NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "a segment is missing"), "%s", r.out);
	cmd_result_free(&r);
	remove_ledger(&d);
}

/* Every head the ledger holds, in whatever segment, is one an operator
 * may have kept: each passes --expect-head on the untouched ledger. */
Test(e2e_verify_segments, every_head_kept_elsewhere_is_found_in_its_segment)
{
	struct ledger_dir d;
	struct cmd_result r;
	make_ledger(&d, 1500, 64 * 1024);
	char *text = ledger_jsonl(d.ledger);
	cr_assert_not_null(text);
	size_t heads = 0, segments_seen = 0;
	json_int_t last_segment = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "%s", line);
		if (strcmp(json_string_value(json_object_get(o, "type")), "head") == 0) {
			char head[LEDGER_HEAD_TEXT_MAX + 8], want[LEDGER_HEAD_TEXT_MAX + 32];
			snprintf(head, sizeof(head), "%" JSON_INTEGER_FORMAT ":%s",
				 json_integer_value(json_object_get(o, "covers")), json_string_value(json_object_get(o, "head")));
			verify(&r, &d, "--expect-head", head);
			snprintf(want, sizeof(want), "expected head %s: present", head);
			cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
			cr_assert(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
			cmd_result_free(&r);
			heads++;
			json_int_t seg = json_integer_value(json_object_get(o, "segment"));
			segments_seen += seg != last_segment;
			last_segment = seg;
		}
		json_decref(o);
	}
	free(text);
	cr_assert_geq(segments_seen, 3, "heads of %zu segments", segments_seen);
	cr_assert_geq(heads, segments_seen);
	remove_ledger(&d);
}

/* The oldest segment present carries state from segments that are gone:
 * without a verified head over it, anyone could have written it (here:
 * segment 2 alone, its heads dropped, no key needed). With the
 * association's key, verify refuses it; without, it says it is unchecked. */
Test(e2e_verify_segments, an_unsigned_start_of_the_oldest_segment_fails_with_the_key)
{
	struct ledger_dir d;
	struct cmd_result r;
	struct l2b_file f;
	char seg2[160], alone[160];
	make_ledger(&d, 1500, 64 * 1024);
	snprintf(seg2, sizeof(seg2), "%s.000002", d.ledger);
	cr_assert_eq(l2b_load(&f, seg2), 0);
	size_t *order = calloc(f.n_blocks, sizeof(*order)), n = 0, heads = 0;
	cr_assert_not_null(order);
	for (size_t b = 0; b < f.n_blocks; b++) {
		if (f.blocks[b].n_recs && f.recs[f.blocks[b].first_rec].type == L2_HEAD)
			heads++;
		else
			order[n++] = b;
	}
	cr_assert_gt(heads, 0);
	cr_assert_gt(f.hdr.segment, 1);
	snprintf(alone, sizeof(alone), "%s/alone", d.dir);
	cr_assert_eq(mkdir(alone, 0755), 0);
	snprintf(alone, sizeof(alone), "%s/alone/ledger", d.dir);
	cr_assert_eq(l2b_write(&f, order, n, false, alone), 0);
	free(order);
	l2b_free(&f);
	char *with_key[] = { (char *)mpbs_binary(), "verify", alone, "--public-keys", d.keys, "--association-key",
			     d.association, "--no-progress", NULL };
	cmd_run(&r, NULL, (uid_t)-1, with_key);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "field \"segment\": segment 2 is the oldest present and no verified head covers its start"),
		  "%s", r.out);
	cmd_result_free(&r);
	char *without[] = { (char *)mpbs_binary(), "verify", alone, "--public-keys", d.keys, "--no-progress", NULL };
	cmd_run(&r, NULL, (uid_t)-1, without);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "carried from them is the association's word, not checked"), "%s", r.out);
	cmd_result_free(&r);
	remove_ledger(&d);
}

/* Segments are ordered by the number each states; a sealed file renamed to
 * another number is named as such, and the independent reader agrees. */
Test(e2e_verify_segments, a_renamed_segment_fails)
{
	struct ledger_dir d;
	struct cmd_result r;
	char seg2[160], renamed[160];
	make_ledger(&d, 1500, 64 * 1024);
	snprintf(seg2, sizeof(seg2), "%s.000002", d.ledger);
	snprintf(renamed, sizeof(renamed), "%s.000042", d.ledger);
	cr_assert_eq(rename(seg2, renamed), 0);
	verify(&r, &d, NULL, NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	char want[240];
	snprintf(want, sizeof(want), "FAIL: %s: field \"segment\": the file is named segment 42 but states segment 2",
		 renamed);
	cr_assert(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
	cmd_result_free(&r);
	remove_ledger(&d);
}

Test(e2e_verify_segments, older_segments_removed_start_later)
{
	struct ledger_dir d;
	struct cmd_result r;
	char seg1[160];
	make_ledger(&d, 1500, 64 * 1024);
	snprintf(seg1, sizeof(seg1), "%s.000001", d.ledger);
	cr_assert_eq(unlink(seg1), 0);
	verify(&r, &d, NULL, NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "starts at segment 2"), "%s", r.out);
	cmd_result_free(&r);
	remove_ledger(&d);
}

Test(e2e_verify_segments, ledger_cat_prints_every_record)
{
	struct ledger_dir d;
	struct cmd_result r;
	make_ledger(&d, 300, 16 * 1024);
	char *argv[] = { (char *)mpbs_binary(), "ledger", "cat", "--jsonl", d.ledger, NULL };
	cmd_run(&r, NULL, (uid_t)-1, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq((uint64_t)cmd_count_lines(r.out), d.g.records, "%d lines, %" PRIu64 " records",
		     cmd_count_lines(r.out), d.g.records);
	size_t confirmed = 0, n = 0;
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "%s", line);
		cr_assert_eq(json_integer_value(json_object_get(o, "record")), (json_int_t)++n, "%s", line);
		confirmed += strcmp(json_string_value(json_object_get(o, "type")), "confirmed") == 0;
		json_decref(o);
	}
	cr_assert_eq(confirmed, 300);
	cmd_result_free(&r);
	char *text[] = { (char *)mpbs_binary(), "ledger", "cat", d.ledger, NULL };
	cmd_run(&r, NULL, (uid_t)-1, text);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "#1 segment segment=1 "), "%.300s", r.out);
	cr_assert(strstr(r.out, " confirmed op="), "%.300s", r.out);
	cmd_result_free(&r);
	remove_ledger(&d);
}
