/* SPDX-License-Identifier: Apache-2.0 */
/* unit_ledger2_verify: the version 2 verifier (lib/ledger2_verify.h) on
 * ledgers the association's encoder wrote (tests/common/ledger2_gen.h) with
 * real Ed25519 keys and provider chains: a valid multi-segment ledger holds,
 * and each rule broken is found with the field it is about. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/ledger2_verify.h"
#include "../common/ledger2_gen.h"

#define SEGMENTS_MAX 64

struct fixture {
	char dir[64];
	char path[128];
	struct gen_ledger g;
	struct l2v_opts opts;
	const char *topology[L2_PROVIDERS_MAX];
};

/* The outcome of verifying every file of a ledger in order. */
struct outcome {
	bool ok;
	char file[160];
	uint64_t record;
	char field[24];
	char why[256];
	struct l2v_ledger totals;
};

static void fixture_make(struct fixture *f, size_t providers, uint64_t ops, uint64_t segment_size, unsigned phases,
			 enum gen_fault fault)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/mpbs-l2v-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger", f->dir);
	f->g = (struct gen_ledger){ .path = f->path, .n_providers = providers, .ops = ops, .batch = 16,
				    .segment_size = segment_size, .rotate_phases = phases, .fault = fault, .seed = 7 };
	gen_ledger_keys(&f->g);
	char err[512];
	cr_assert_eq(gen_ledger_write(&f->g, err, sizeof(err)), 0, "%s", err);
	for (size_t p = 0; p < providers; p++)
		f->topology[p] = f->g.names[p];
	f->opts = (struct l2v_opts){ .n_providers = providers, .providers = f->topology, .confirm_k = (unsigned)providers,
				     .pubkey = gen_ledger_pubkey, .ctx = &f->g, .association_pk = f->g.association_pk };
}

static void fixture_remove(struct fixture *f)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	cr_assert_eq(system(cmd), 0);
}

static void segment_path(const struct fixture *f, uint32_t n, char *out, size_t len)
{
	if (n == f->g.segments)
		snprintf(out, len, "%s", f->path);
	else
		snprintf(out, len, "%s.%06u", f->path, n);
}

/* Verifies segments first..last (the files that exist) in order, as verify does. */
static struct outcome verify_range(struct fixture *f, uint32_t first, uint32_t last)
{
	struct outcome out = { .ok = true };
	static struct l2v_segment segs[2];
	char path[2][160];
	cr_assert_eq(l2v_ledger_init(&out.totals, &f->opts), 0);
	struct l2v_segment *prev = NULL;
	unsigned slot = 0; /* the one prev is not in (a missing file skipped keeps it) */
	for (uint32_t n = first; n <= last && out.ok; n++) {
		struct l2v_segment *s = &segs[slot];
		segment_path(f, n, path[slot], sizeof(path[0]));
		int fd = open(path[slot], O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		cr_assert_geq(fd, 0);
		bool ok = l2v_segment_check(fd, path[slot], &f->opts, s);
		slot ^= 1;
		close(fd);
		if (ok)
			ok = l2v_ledger_add(&out.totals, prev, s);
		struct l2v_segment *bad = !ok && prev && prev->failed ? prev : s;
		if (!ok) {
			out.ok = false;
			snprintf(out.file, sizeof(out.file), "%s", bad->path);
			out.record = bad->bad_record;
			snprintf(out.field, sizeof(out.field), "%s", bad->field);
			snprintf(out.why, sizeof(out.why), "%s", bad->why);
		}
		if (prev)
			l2v_segment_free(prev);
		prev = s;
	}
	if (out.ok && !l2v_ledger_end(&out.totals, prev, out.why, sizeof(out.why)))
		out.ok = false;
	if (prev)
		l2v_segment_free(prev);
	l2v_ledger_free(&out.totals);
	return out;
}

static struct outcome verify_all(struct fixture *f)
{
	return verify_range(f, 1, f->g.segments);
}

static void expect_fail(struct outcome o, const char *field, const char *why_part)
{
	cr_assert(!o.ok, "verified, but a rule was broken");
	cr_assert_str_eq(o.field, field, "field \"%s\" (%s at record %" PRIu64 " of %s), expected \"%s\"", o.field, o.why,
			 o.record, o.file, field);
	cr_assert(strstr(o.why, why_part), "why: %s (expected to contain \"%s\")", o.why, why_part);
}

/* The offset of the n-th (from 1) record of type in file, and its payload length. */
static off_t record_offset(const char *file, uint8_t type, int nth, size_t *len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct l2_reader r;
	struct l2_block b;
	int first;
	cr_assert_eq(l2_reader_open(&r, fd, &first), L2_READ_OK);
	off_t found = -1;
	while (found < 0 && l2_reader_next(&r, &b) == L2_READ_OK) {
		struct l2_cursor body = { b.body, b.body + b.body_len };
		struct l2_record rec;
		while (found < 0 && l2_record_next(&body, &rec))
			if (rec.type == type && --nth == 0) {
				found = (off_t)(r.block_off + (uint64_t)(rec.payload - b.start));
				*len = rec.len;
			}
	}
	l2_reader_close(&r);
	close(fd);
	cr_assert_geq(found, 0, "no such record in %s", file);
	return found;
}

static void flip_byte(const char *file, off_t at)
{
	int fd = open(file, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	uint8_t byte;
	cr_assert_eq(pread(fd, &byte, 1, at), 1);
	byte ^= 0x01;
	cr_assert_eq(pwrite(fd, &byte, 1, at), 1);
	close(fd);
}

Test(unit_ledger2_verify, valid_multi_segment_ledger_holds)
{
	struct fixture f;
	fixture_make(&f, 3, 2000, 48 * 1024, GEN_AT_ANY, GEN_VALID);
	cr_assert_geq(f.g.segments, 4, "only %u segments", f.g.segments);
	struct outcome o = verify_all(&f);
	cr_assert(o.ok, "%s: record %" PRIu64 ": field \"%s\": %s", o.file, o.record, o.field, o.why);
	cr_assert_eq(o.totals.confirmed_count, 2000);
	cr_assert_eq(o.totals.records, f.g.records);
	cr_assert_eq(o.totals.segments, f.g.segments);
	cr_assert_eq(o.totals.uncovered, 0);
	cr_assert_eq(o.totals.last_head.seq, f.g.last_head.seq);
	cr_assert_eq(memcmp(o.totals.last_head.hash, f.g.last_head.hash, WIRE_DIGEST_LEN), 0);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, each_segment_holds_alone_from_its_stated_start)
{
	struct fixture f;
	fixture_make(&f, 3, 1000, 32 * 1024, GEN_AT_SIGNALS | GEN_AT_CHECKPOINT, GEN_VALID);
	cr_assert_geq(f.g.segments, 3);
	for (uint32_t n = 1; n <= f.g.segments; n++) {
		struct outcome o = verify_range(&f, n, n);
		cr_assert(o.ok, "segment %u: %s", n, o.why);
	}
	/* retention: the oldest ones gone, the rest still joins */
	struct outcome o = verify_range(&f, 2, f.g.segments);
	cr_assert(o.ok, "%s", o.why);
	cr_assert_eq(o.totals.first_segment, 2);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, expected_head_is_found_or_refused)
{
	struct fixture f;
	fixture_make(&f, 2, 300, 16 * 1024, GEN_AT_CONFIRMED, GEN_VALID);
	struct ledger_head kept = f.g.last_head;
	f.opts.n_expect = 1;
	f.opts.expect = &kept;
	cr_assert(verify_all(&f).ok);
	kept.hash[3] ^= 1;
	expect_fail(verify_all(&f), "chain", "rewritten");
	kept = f.g.last_head;
	kept.seq += 1000;
	struct outcome o = verify_all(&f);
	cr_assert(!o.ok);
	cr_assert(strstr(o.why, "cut off"), "%s", o.why);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, flipped_value_breaks_the_next_checkpoint)
{
	struct fixture f;
	fixture_make(&f, 3, 100, 0, 0, GEN_VALID);
	size_t len;
	/* the first signals record: p, first_pseq, count, t_first, then x (1 byte) and op (new) */
	off_t at = record_offset(f.path, L2_SIGNALS, 1, &len);
	flip_byte(f.path, at + 1 + 8 + 2 + 8 + 1 + 32 + 5);
	expect_fail(verify_all(&f), "sig", "checkpoint of p0");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, bad_checkpoint_signature)
{
	struct fixture f;
	fixture_make(&f, 3, 100, 0, 0, GEN_VALID);
	size_t len;
	off_t at = record_offset(f.path, L2_CHECKPOINT, 5, &len);
	flip_byte(f.path, at + (off_t)len - 1);
	expect_fail(verify_all(&f), "sig", "signature does not verify");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, bad_head_signature_and_chain)
{
	struct fixture f;
	fixture_make(&f, 2, 100, 0, 0, GEN_VALID);
	size_t len;
	off_t at = record_offset(f.path, L2_HEAD, 2, &len);
	flip_byte(f.path, at + (off_t)len - 1);
	expect_fail(verify_all(&f), "sig", "head: bad signature");
	flip_byte(f.path, at + (off_t)len - 1);
	flip_byte(f.path, at + 1 + 8 + 4);
	expect_fail(verify_all(&f), "chain", "file chain");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, heads_unchecked_without_the_association_key)
{
	struct fixture f;
	fixture_make(&f, 2, 100, 0, 0, GEN_VALID);
	f.opts.association_pk = NULL;
	struct outcome o = verify_all(&f);
	cr_assert(o.ok, "%s", o.why);
	cr_assert_eq(o.totals.heads, 0);
	cr_assert_gt(o.totals.heads_unchecked, 0);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, removed_middle_segment)
{
	struct fixture f;
	char path[160];
	fixture_make(&f, 3, 600, 16 * 1024, GEN_AT_ANY, GEN_VALID);
	cr_assert_geq(f.g.segments, 3);
	segment_path(&f, 2, path, sizeof(path));
	cr_assert_eq(unlink(path), 0);
	expect_fail(verify_all(&f), "segment", "a segment is missing");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, carried_mask_not_covered)
{
	struct fixture f;
	fixture_make(&f, 3, 600, 16 * 1024, GEN_AT_CHECKPOINT, GEN_CARRIED_MASK);
	cr_assert_geq(f.g.segments, 2);
	cr_assert(verify_range(&f, 2, 2).ok, "the segment alone holds from its stated start");
	expect_fail(verify_all(&f), "carried", "did not cover");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, operation_confirmed_twice_across_segments)
{
	struct fixture f;
	fixture_make(&f, 3, 600, 16 * 1024, GEN_AT_CONFIRMED, GEN_RECONFIRM);
	cr_assert_geq(f.g.segments, 2);
	cr_assert(verify_range(&f, 2, 2).ok);
	expect_fail(verify_all(&f), "op", "confirmed in an earlier segment");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, epoch_opened_twice_across_segments)
{
	struct fixture f;
	fixture_make(&f, 3, 600, 16 * 1024, GEN_AT_CONFIRMED, GEN_REOPEN_EPOCH);
	cr_assert_geq(f.g.segments, 2);
	cr_assert(verify_range(&f, 2, 2).ok);
	expect_fail(verify_all(&f), "epoch", "opened a second time");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, seal_missing)
{
	struct fixture f;
	fixture_make(&f, 2, 600, 16 * 1024, GEN_AT_CONFIRMED, GEN_NO_SEAL);
	cr_assert_geq(f.g.segments, 2);
	struct outcome o = verify_all(&f);
	expect_fail(o, "head", "not sealed");
	cr_assert(strstr(o.file, ".000001"), "%s", o.file);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, truncated_block_and_trailing_garbage)
{
	struct fixture f;
	struct stat st;
	fixture_make(&f, 2, 100, 0, 0, GEN_VALID);
	cr_assert_eq(stat(f.path, &st), 0);
	cr_assert_eq(truncate(f.path, st.st_size - 3), 0);
	expect_fail(verify_all(&f), "body_len", "torn tail");
	cr_assert_eq(truncate(f.path, st.st_size), 0); /* zeros where the tail was: the block no longer verifies */
	cr_assert(!verify_all(&f).ok);
	fixture_remove(&f);

	fixture_make(&f, 2, 100, 0, 0, GEN_VALID);
	int fd = open(f.path, O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_eq(write(fd, "garbage", 7), 7);
	close(fd);
	expect_fail(verify_all(&f), "marker", "not a block");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, providers_must_be_the_topologys)
{
	struct fixture f;
	fixture_make(&f, 3, 50, 0, 0, GEN_VALID);
	static const char *other[] = { "p0", "p1", "q2" };
	f.opts.providers = other;
	expect_fail(verify_all(&f), "name", "not a provider of the topology");
	f.opts.providers = f.topology;
	f.opts.n_providers = 2;
	expect_fail(verify_all(&f), "n_providers", "the topology has 2");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, confirm_rule_counts_the_mask)
{
	struct fixture f;
	fixture_make(&f, 3, 50, 0, 0, GEN_VALID);
	f.opts.n_providers = 4; /* a topology of 4 with confirm = 4: the masks name 3 */
	static const char *four[] = { "p0", "p1", "p2", "p3" };
	f.opts.providers = four;
	expect_fail(verify_all(&f), "n_providers", "the topology has 4");
	f.opts.n_providers = 3;
	f.opts.providers = f.topology;
	f.opts.confirm_k = 3;
	cr_assert(verify_all(&f).ok);
	fixture_remove(&f);
}

Test(unit_ledger2_verify, checkpoint_every_bounds_the_uncovered_signals)
{
	struct fixture f;
	fixture_make(&f, 2, 50, 0, 0, GEN_VALID);
	uint32_t every[2] = { 8, 8 }; /* the generator checkpoints every 32 signals */
	f.opts.checkpoint_every = every;
	expect_fail(verify_all(&f), "count", "checkpoint_every");
	fixture_remove(&f);
}

Test(unit_ledger2_verify, a_version_1_file_or_other_bytes_are_not_a_segment)
{
	struct fixture f;
	fixture_make(&f, 2, 10, 0, 0, GEN_VALID);
	int fd = open(f.path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	cr_assert_eq(write(fd, "{\"seq\":1}\n", 10), 10);
	close(fd);
	expect_fail(verify_all(&f), "magic", "not a version 2");
	fixture_remove(&f);
}
