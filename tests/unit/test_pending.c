/* SPDX-License-Identifier: Apache-2.0 */
/* unit_pending: the association's table of operations awaiting confirmation
 * (roles/association/pending.c): lookups across index growth, insertion order for
 * expiry, the bound, and reuse of freed entries. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "../../roles/association/pending.h"

static void op_of(uint32_t n, uint8_t op[WIRE_DIGEST_LEN])
{
	/* Distinct, and the hash spreads them whatever their bytes. */
	memset(op, 0, WIRE_DIGEST_LEN);
	memcpy(op, &n, sizeof(n));
}

static struct pending_op *insert_n(struct pending_table *t, uint32_t n, uint64_t ms)
{
	uint8_t op[WIRE_DIGEST_LEN];
	op_of(n, op);
	struct pending_op *e = pending_insert(t, op, ms);
	cr_assert_not_null(e, "insert %u", n);
	return e;
}

static struct pending_op *find_n(struct pending_table *t, uint32_t n)
{
	uint8_t op[WIRE_DIGEST_LEN];
	op_of(n, op);
	return pending_find(t, op);
}

Test(unit_pending, index_grows_and_every_entry_stays_findable)
{
	struct pending_table t;
	cr_assert_eq(sodium_init() < 0, false);
	cr_assert_eq(pending_init(&t, 3, 65536), 0);
	size_t first_slots = t.index_mask + 1;
	cr_assert_lt(first_slots, t.index_max, "the index starts below its full size");
	for (uint32_t i = 0; i < 20000; i++) {
		struct pending_op *e = insert_n(&t, i, i);
		e->have[2] = 1;
	}
	cr_assert_gt(t.index_mask + 1, first_slots, "it grew");
	cr_assert_leq(t.index_mask + 1, t.index_max);
	cr_assert_leq((size_t)t.used * 2, t.index_mask + 1, "at most half full");
	for (uint32_t i = 0; i < 20000; i++) {
		struct pending_op *e = find_n(&t, i);
		cr_assert_not_null(e, "op %u", i);
		cr_assert_eq(e->created_ms, i);
		cr_assert_eq(e->have[2], 1);
	}
	cr_assert_null(find_n(&t, 20000));
	/* Insertion order survives the rehashes: expiry walks from the oldest. */
	for (uint32_t i = 0; i < 20000; i++) {
		struct pending_op *e = pending_oldest(&t);
		cr_assert_not_null(e);
		cr_assert_eq(e->created_ms, i);
		pending_remove(&t, e);
	}
	cr_assert_null(pending_oldest(&t));
	cr_assert_eq(t.used, 0);
	cr_assert_eq(t.n_free, 65536);
	pending_free(&t);
}

Test(unit_pending, bounded_by_max_and_freed_entries_are_reused)
{
	struct pending_table t;
	cr_assert_eq(sodium_init() < 0, false);
	cr_assert_eq(pending_init(&t, 2, 16), 0);
	for (uint32_t i = 0; i < 16; i++)
		insert_n(&t, i, 0);
	cr_assert_eq(t.n_free, 0);
	uint8_t op[WIRE_DIGEST_LEN];
	op_of(99, op);
	cr_assert_null(pending_insert(&t, op, 0), "full");
	/* Remove every other one; the slab entries come back last-in first-out,
	 * and no slab entry beyond the 16 is ever handed out. */
	for (uint32_t i = 0; i < 16; i += 2)
		pending_remove(&t, find_n(&t, i));
	cr_assert_eq(t.used, 8);
	cr_assert_eq(t.n_free, 8);
	struct pending_op *last_freed = find_n(&t, 1);
	pending_remove(&t, last_freed);
	insert_n(&t, 1, 0);
	cr_assert_eq(find_n(&t, 1), last_freed, "the last freed entry is reused first");
	struct pending_op *e = insert_n(&t, 100, 0);
	cr_assert_lt((size_t)(e - t.slab), 16);
	for (uint32_t i = 1; i < 16; i += 2)
		cr_assert_not_null(find_n(&t, i), "op %u survived the removals", i);
	for (uint32_t i = 0; i < 16; i += 2)
		cr_assert_null(find_n(&t, i), "op %u was removed", i);
	pending_free(&t);
}

Test(unit_pending, churn_far_beyond_max_keeps_lookups_right)
{
	/* The association's steady state: entries come and go forever while a
	 * window of them is live. */
	struct pending_table t;
	cr_assert_eq(sodium_init() < 0, false);
	cr_assert_eq(pending_init(&t, 3, 4096), 0);
	const uint32_t window = 3000;
	for (uint32_t i = 0; i < 200000; i++) {
		insert_n(&t, i, i);
		if (i >= window) {
			struct pending_op *old = find_n(&t, i - window);
			cr_assert_not_null(old, "op %u", i - window);
			cr_assert_eq(old, pending_oldest(&t));
			pending_remove(&t, old);
		}
	}
	cr_assert_eq(t.used, window);
	cr_assert_leq(t.fresh, window + 1, "entries handed out never exceed the live window");
	for (uint32_t i = 200000 - window; i < 200000; i++)
		cr_assert_not_null(find_n(&t, i));
	pending_free(&t);
}
