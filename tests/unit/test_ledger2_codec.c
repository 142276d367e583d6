/* SPDX-License-Identifier: Apache-2.0 */
/* The version 2 codec (lib/ledger2.h) byte by byte: varints and their
 * refusals, block framing, record framing, operation references, and every
 * record the encoder writes read back through the walk
 * (lib/ledger2_walk.h) as it was given. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/ledger2.h"
#include "../../lib/ledger2_walk.h"

static bool varint_of(const uint8_t *bytes, size_t n, uint64_t *v)
{
	struct l2_cursor c = { bytes, bytes + n };
	return l2_get_varint(&c, v) && c.p == c.end;
}

Test(unit_ledger2_codec, varints_read_as_written_and_refuse_what_is_not_canonical)
{
	uint64_t v;
	cr_assert(varint_of((const uint8_t[]){ 0x00 }, 1, &v) && v == 0);
	cr_assert(varint_of((const uint8_t[]){ 0x7f }, 1, &v) && v == 127);
	cr_assert(varint_of((const uint8_t[]){ 0x80, 0x01 }, 2, &v) && v == 128);
	cr_assert(varint_of((const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10, &v) &&
		  v == UINT64_MAX);
	cr_assert_not(varint_of((const uint8_t[]){ 0x80, 0x00 }, 2, &v), "a superfluous zero group");
	cr_assert_not(varint_of((const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 10, &v),
		      "past 64 bits");
	cr_assert_not(varint_of((const uint8_t[]){ 0x80 }, 1, &v), "cut short");
}

Test(unit_ledger2_codec, blocks_are_framed_by_marker_and_length)
{
	uint8_t b[L2_BLOCK_HDR_LEN + 5] = { L2_BLOCK_MARKER };
	struct l2_block blk;
	b[12] = 5; /* body_len = 5 */
	cr_assert_eq(l2_block_parse(b, sizeof(b), &blk), L2_BLOCK_OK);
	cr_assert_eq(blk.len, sizeof(b));
	cr_assert_eq(l2_block_parse(b, sizeof(b) - 1, &blk), L2_BLOCK_SHORT, "the file ends inside it");
	cr_assert_eq(l2_block_parse(b, 3, &blk), L2_BLOCK_SHORT);
	b[12] = 4;
	cr_assert_eq(l2_block_parse(b, sizeof(b), &blk), L2_BLOCK_BAD, "a body shorter than one record header");
	b[12] = 5;
	b[0] = 0;
	cr_assert_eq(l2_block_parse(b, sizeof(b), &blk), L2_BLOCK_BAD, "zeros where a block begins");
	memset(b, 0, sizeof(b));
	b[0] = L2_BLOCK_MARKER;
	b[9] = 0x01; /* 16 MiB + more */
	b[10] = 0x00;
	b[11] = 0x00;
	b[12] = 0x01;
	cr_assert_eq(l2_block_parse(b, sizeof(b), &blk), L2_BLOCK_BAD, "over L2_BLOCK_BODY_MAX");
}

Test(unit_ledger2_codec, records_and_references_do_not_read_past_their_bytes)
{
	const uint8_t overrun[] = { L2_HEAD, 0, 0, 0, 9, 1, 2 };
	struct l2_cursor c = { overrun, overrun + sizeof(overrun) };
	struct l2_record rec;
	cr_assert_not(l2_record_next(&c, &rec));
	/* a new operation carries no reference; an id must follow it whole */
	uint8_t entry[1 + 32 + 32] = { 0x02 }; /* x = ref 0 << 2 | new << 1 | START */
	struct l2_opref ref;
	uint8_t stage;
	const uint8_t *value;
	int64_t dt;
	c = (struct l2_cursor){ entry, entry + sizeof(entry) };
	cr_assert(l2_get_signal_entry(&c, true, &ref, &stage, &value, &dt));
	cr_assert(ref.is_new && stage == STAGE_START && c.p == c.end);
	entry[0] = 1 << 2 | 0x02; /* ref 1 and new: refused */
	c = (struct l2_cursor){ entry, entry + sizeof(entry) };
	cr_assert_not(l2_get_signal_entry(&c, true, &ref, &stage, &value, &dt));
	entry[0] = 0x02;
	c = (struct l2_cursor){ entry, entry + sizeof(entry) - 1 };
	cr_assert_not(l2_get_signal_entry(&c, true, &ref, &stage, &value, &dt), "a value cut short");
}

/* ------------------------------------------- a round trip through the walk */

struct seen {
	size_t n;
	struct l2_entry e[16];
	uint8_t ops[16][WIRE_DIGEST_LEN];
	char reason[64];
};

static int keep(void *ctx, const struct l2_entry *e)
{
	struct seen *s = ctx;
	cr_assert_lt(s->n, 16);
	s->e[s->n] = *e;
	if (e->op)
		memcpy(s->ops[s->n], e->op, WIRE_DIGEST_LEN);
	if (e->reason)
		snprintf(s->reason, sizeof(s->reason), "%s", e->reason);
	s->n++;
	return 0;
}

Test(unit_ledger2_codec, every_record_reads_back_as_written)
{
	int fd = memfd_create("ledger2-codec", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct l2_writer w;
	cr_assert_eq(l2_writer_init(&w, fd), 0);
	const char *names[] = { "A", "B" };
	struct l2_state states[2] = { 0 };
	struct l2_segment_start start = { .segment = 1, .first_record = 1, .n_providers = 2, .names = names,
					  .states = states };
	cr_assert_eq(l2_begin_segment(&w, fd, &start), 0);
	struct signal_frame s = { .provider = "B", .stage = STAGE_START, .t_ns = 1000, .seq = 1 };
	memset(s.op, 0x11, sizeof(s.op));
	memset(s.value, 0x22, sizeof(s.value));
	cr_assert_eq(l2_signal(&w, 1, &s), 0);
	s.stage = STAGE_COMPLETE;
	s.seq = 2;
	s.t_ns = 900; /* a clock that stepped back: a negative delta */
	cr_assert_eq(l2_signal(&w, 1, &s), 0);
	struct checkpoint_frame k = { .provider = "B", .seq = 2 };
	memset(k.sig, 0x33, sizeof(k.sig));
	cr_assert_eq(l2_checkpoint(&w, 1, &k, false), 0);
	cr_assert_eq(l2_closed(&w, L2_CONFIRMED, s.op, 0x2), 0);
	cr_assert_eq(l2_rejected(&w, 0, "bad\nframe"), 0);
	cr_assert_eq(l2_flush(&w, 5000), 0);
	l2_writer_free(&w);

	struct seen seen = { 0 };
	char why[256];
	cr_assert_eq(l2_walk_fd(fd, false, keep, &seen, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(seen.n, 6);
	cr_assert_eq(seen.e[0].type, L2_SEGMENT);
	cr_assert_eq(seen.e[1].type, L2_SIGNALS);
	cr_assert_eq(seen.e[1].stage, STAGE_START);
	cr_assert_eq(seen.e[1].t, 1000);
	cr_assert_str_eq(seen.e[1].provider, "B");
	cr_assert_eq(seen.e[2].t, 900, "the delta's sign kept");
	cr_assert_eq(seen.e[2].pseq, 2);
	cr_assert_eq(memcmp(seen.ops[2], s.op, WIRE_DIGEST_LEN), 0, "a back reference resolves to the id");
	cr_assert_eq(seen.e[3].type, L2_CHECKPOINT);
	cr_assert_eq(seen.e[4].type, L2_CONFIRMED);
	cr_assert_eq(seen.e[4].mask, 0x2);
	cr_assert_eq(seen.e[4].block_t, 5000);
	cr_assert_eq(seen.e[5].type, L2_REJECTED);
	cr_assert_str_eq(seen.reason, "bad?frame", "an unprintable byte of a reason is written as '?'");
	cr_assert_eq(seen.e[5].record, 6, "records numbered from the segment's first");
	close(fd);
}
