/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's batch codec (bridge/batch.h): what an in lane reads from
 * a stream message another host published. Lengths past the end, heads
 * cut short, empty records, a payload that ends exactly after its last
 * record, and what batch_put refuses. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../../bridge/batch.h"

/* Walks p whole; returns the last step, the records seen and where it
 * stopped. */
static enum batch_step walk(const uint8_t *p, size_t len, unsigned *records, size_t *off)
{
	struct batch_iter it;
	const uint8_t *rec;
	uint32_t n;
	enum batch_step step;
	batch_iter_init(&it, p, len);
	*records = 0;
	while ((step = batch_next(&it, &rec, &n)) == BATCH_RECORD) {
		cr_assert(rec >= p + BATCH_HEAD_BYTES && rec + n <= p + len, "a record outside its payload");
		(*records)++;
	}
	*off = it.off;
	return step;
}

Test(unit_bridge_batch, an_empty_payload_ends_at_once)
{
	unsigned records;
	size_t off;
	cr_assert_eq(walk(NULL, 0, &records, &off), BATCH_END);
	cr_assert_eq(records, 0);
	cr_assert_eq(off, 0);
}

Test(unit_bridge_batch, records_end_exactly_where_the_payload_does)
{
	const uint8_t p[] = { 3, 0, 0, 0, 'a', 'b', 'c', 1, 0, 0, 0, 'd' };
	struct batch_iter it;
	const uint8_t *rec;
	uint32_t n;
	batch_iter_init(&it, p, sizeof(p));
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_RECORD);
	cr_assert(n == 3 && rec == p + 4 && memcmp(rec, "abc", 3) == 0);
	cr_assert_eq(it.off, 7);
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_RECORD);
	cr_assert(n == 1 && rec == p + 11 && rec[0] == 'd');
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_END);
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_END, "the end stays the end");
	cr_assert_eq(it.off, sizeof(p));
}

Test(unit_bridge_batch, empty_records_are_records)
{
	const uint8_t p[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'x', 0, 0, 0, 0 };
	unsigned records;
	size_t off;
	cr_assert_eq(walk(p, sizeof(p), &records, &off), BATCH_END);
	cr_assert_eq(records, 4);
	cr_assert_eq(off, sizeof(p));
}

Test(unit_bridge_batch, a_length_one_past_the_end_is_malformed_where_it_begins)
{
	const uint8_t p[] = { 1, 0, 0, 0, 'a', 3, 0, 0, 0, 'b', 'c' };
	unsigned records;
	size_t off;
	cr_assert_eq(walk(p, sizeof(p), &records, &off), BATCH_MALFORMED);
	cr_assert_eq(records, 1, "the record before it is still read");
	cr_assert_eq(off, 5, "the offset names the bad record");
	/* and it stays malformed: no later call reads past it */
	struct batch_iter it = { p, sizeof(p), 5 };
	const uint8_t *rec;
	uint32_t n;
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_MALFORMED);
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_MALFORMED);
	cr_assert_eq(it.off, 5);
}

Test(unit_bridge_batch, a_head_cut_short_is_malformed)
{
	const uint8_t p[] = { 0, 0, 0, 0, 7, 0, 0 };
	for (size_t len = 5; len <= sizeof(p); len++) {
		unsigned records;
		size_t off;
		cr_assert_eq(walk(p, len, &records, &off), BATCH_MALFORMED, "%zu bytes", len);
		cr_assert_eq(records, 1);
		cr_assert_eq(off, 4);
	}
	for (size_t len = 1; len < BATCH_HEAD_BYTES; len++) {
		unsigned records;
		size_t off;
		cr_assert_eq(walk(p + 4, len, &records, &off), BATCH_MALFORMED, "%zu bytes", len);
		cr_assert_eq(off, 0);
	}
}

Test(unit_bridge_batch, the_largest_lengths_do_not_wrap)
{
	const uint8_t all_ones[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	const uint8_t high_bit[] = { 0x00, 0x00, 0x00, 0x80, 'a' };
	unsigned records;
	size_t off;
	cr_assert_eq(walk(all_ones, sizeof(all_ones), &records, &off), BATCH_MALFORMED);
	cr_assert_eq(walk(high_bit, sizeof(high_bit), &records, &off), BATCH_MALFORMED);
	cr_assert_eq(records, 0);
}

Test(unit_bridge_batch, put_writes_what_next_reads)
{
	uint8_t buf[16];
	size_t used = batch_put(buf, sizeof(buf), 0, (const uint8_t *)"hello", 5);
	cr_assert_eq(used, 9);
	used = batch_put(buf, sizeof(buf), used, NULL, 0);
	cr_assert_eq(used, 13, "an empty record is its head alone");
	struct batch_iter it;
	const uint8_t *rec;
	uint32_t n;
	batch_iter_init(&it, buf, used);
	cr_assert(batch_next(&it, &rec, &n) == BATCH_RECORD && n == 5 && memcmp(rec, "hello", 5) == 0);
	cr_assert(batch_next(&it, &rec, &n) == BATCH_RECORD && n == 0);
	cr_assert_eq(batch_next(&it, &rec, &n), BATCH_END);
}

Test(unit_bridge_batch, put_refuses_what_does_not_fit_and_leaves_the_buffer)
{
	uint8_t buf[12];
	memset(buf, 0xaa, sizeof(buf));
	cr_assert_eq(batch_put(buf, sizeof(buf), 0, (const uint8_t *)"12345678", 8), 12, "an exact fit");
	memset(buf, 0xaa, sizeof(buf));
	cr_assert_eq(batch_put(buf, sizeof(buf), 0, (const uint8_t *)"123456789", 9), 0, "one byte over");
	cr_assert_eq(batch_put(buf, sizeof(buf), 9, (const uint8_t *)"", 0), 0, "no room for the head");
	cr_assert_eq(batch_put(buf, sizeof(buf), 13, (const uint8_t *)"", 0), 0, "used past the capacity");
	cr_assert_eq(batch_put(buf, sizeof(buf), 0, (const uint8_t *)"", UINT32_MAX), 0, "a length that would wrap");
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xaa, "byte %zu written by a refused put", i);
}
