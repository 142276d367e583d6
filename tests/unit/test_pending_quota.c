/* SPDX-License-Identifier: Apache-2.0 */
/* unit_pending_quota: per-provider quotas of the association's pending
 * table: a provider that floods operation ids, or that races to
 * be first on everyone's operations, evicts only operations of its own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "../../roles/association/pending.h"

enum { A, B, C };

struct evictions {
	struct pending_table *t;
	size_t n;
	uint64_t charged_of_last; /* contributors of the last evicted entry */
};

/* As the association does: the entry is recorded incomplete and removed. */
static int evict_and_count(void *ctx, struct pending_op *e)
{
	struct evictions *ev = ctx;
	ev->n++;
	ev->charged_of_last = e->charged;
	pending_remove(ev->t, e);
	return 0;
}

static int refuse_eviction(void *ctx, struct pending_op *e)
{
	(void)ctx;
	(void)e;
	errno = EIO;
	return -1;
}

static void op_of(uint32_t n, uint8_t op[WIRE_DIGEST_LEN])
{
	memset(op, 0, WIRE_DIGEST_LEN);
	memcpy(op, &n, sizeof(n));
}

static struct pending_op *admit(struct pending_table *t, uint32_t n, size_t who, struct evictions *ev)
{
	uint8_t op[WIRE_DIGEST_LEN];
	op_of(n, op);
	return pending_admit(t, op, who, n, evict_and_count, ev);
}

static struct pending_op *find_n(struct pending_table *t, uint32_t n)
{
	uint8_t op[WIRE_DIGEST_LEN];
	op_of(n, op);
	return pending_find(t, op);
}

static void setup(struct pending_table *t, struct evictions *ev, size_t n_providers, uint32_t max)
{
	cr_assert_eq(sodium_init() < 0, false);
	cr_assert_eq(pending_init(t, n_providers, max), 0);
	*ev = (struct evictions){ .t = t };
}

Test(unit_pending_quota, a_flood_evicts_only_the_flooders_own_operations)
{
	struct pending_table t;
	struct evictions ev;
	setup(&t, &ev, 3, 30);
	cr_assert_eq(t.quota, 10);
	cr_assert_not_null(admit(&t, 1, B, &ev), "B's operation");
	cr_assert_not_null(admit(&t, 2, C, &ev), "C's operation");
	/* A floods 100,000 fresh operation ids, far beyond pending_max. */
	for (uint32_t i = 1000; i < 101000; i++)
		cr_assert_not_null(admit(&t, i, A, &ev), "A's op %u", i);
	cr_assert_not_null(find_n(&t, 1), "B's operation survived A's flood");
	cr_assert_not_null(find_n(&t, 2), "C's operation survived A's flood");
	cr_assert_eq(ev.n, 100000 - 10, "A evicted exactly its own overflow");
	cr_assert_eq(ev.charged_of_last, 1u << A, "what was evicted was A's alone");
	cr_assert_eq(t.accounts[A].charged, 10);
	cr_assert_eq(t.used, 12);
	/* The ten kept are A's newest: its oldest went first. */
	for (uint32_t i = 101000 - 10; i < 101000; i++)
		cr_assert_not_null(find_n(&t, i), "A's op %u", i);
	cr_assert_null(find_n(&t, 101000 - 11));
	/* B, under its quota, still gets new operations in. */
	cr_assert_not_null(admit(&t, 3, B, &ev));
	cr_assert_eq(ev.n, 100000 - 10, "B's admission evicted nobody");
	pending_free(&t);
}

Test(unit_pending_quota, being_first_on_others_operations_does_not_let_a_flood_evict_them)
{
	/* A signs first on every honest operation (it owns none of them
	 * alone once B and C join), then floods: the shared ones stay. */
	struct pending_table t;
	struct evictions ev;
	setup(&t, &ev, 3, 30);
	for (uint32_t i = 1; i <= 5; i++) {
		cr_assert_not_null(admit(&t, i, A, &ev));
		cr_assert_not_null(admit(&t, i, B, &ev));
		cr_assert_not_null(admit(&t, i, C, &ev));
	}
	cr_assert_eq(t.accounts[B].charged, 5);
	for (uint32_t i = 1000; i < 2000; i++)
		cr_assert_not_null(admit(&t, i, A, &ev));
	for (uint32_t i = 1; i <= 5; i++) {
		struct pending_op *e = find_n(&t, i);
		cr_assert_not_null(e, "shared op %u survived", i);
		cr_assert_eq(e->charged, (1u << A) | (1u << B) | (1u << C));
	}
	cr_assert_eq(t.accounts[A].charged, 10, "5 shared + 5 of its own flood");
	cr_assert_eq(ev.charged_of_last, 1u << A);
	pending_free(&t);
}

Test(unit_pending_quota, at_its_quota_with_only_shared_operations_a_provider_is_refused)
{
	struct pending_table t;
	struct evictions ev;
	setup(&t, &ev, 2, 16);
	cr_assert_eq(t.quota, 8);
	for (uint32_t i = 1; i <= 8; i++) {
		cr_assert_not_null(admit(&t, i, B, &ev));
		cr_assert_not_null(admit(&t, i, A, &ev));
	}
	errno = 0;
	cr_assert_null(admit(&t, 99, A, &ev), "A at its quota holds nothing of its own");
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(ev.n, 0, "nothing was evicted");
	cr_assert_null(find_n(&t, 99));
	for (uint32_t i = 1; i <= 8; i++)
		cr_assert_not_null(find_n(&t, i));
	/* Joining an entry it is already charged for costs nothing. */
	cr_assert_eq(admit(&t, 3, A, &ev), find_n(&t, 3));
	pending_free(&t);
}

Test(unit_pending_quota, removal_uncharges_every_contributor)
{
	struct pending_table t;
	struct evictions ev;
	setup(&t, &ev, 3, 30);
	struct pending_op *e = admit(&t, 7, A, &ev);
	cr_assert_not_null(admit(&t, 7, C, &ev));
	cr_assert_not_null(admit(&t, 8, C, &ev));
	cr_assert_eq(t.accounts[A].charged, 1);
	cr_assert_eq(t.accounts[C].charged, 2);
	cr_assert_eq(t.accounts[C].sole_oldest, (uint32_t)(find_n(&t, 8) - t.slab) + 1, "8 is C's only sole entry");
	cr_assert_eq(t.accounts[A].sole_oldest, 0, "7 is shared");
	pending_remove(&t, e);
	cr_assert_eq(t.accounts[A].charged, 0);
	cr_assert_eq(t.accounts[C].charged, 1);
	pending_remove(&t, find_n(&t, 8));
	cr_assert_eq(t.accounts[C].charged, 0);
	cr_assert_eq(t.accounts[C].sole_oldest, 0);
	cr_assert_eq(t.accounts[C].sole_newest, 0);
	pending_free(&t);
}

Test(unit_pending_quota, a_failed_eviction_admits_nothing)
{
	struct pending_table t;
	struct evictions ev;
	uint8_t op[WIRE_DIGEST_LEN];
	setup(&t, &ev, 2, 16);
	for (uint32_t i = 1; i <= 8; i++)
		cr_assert_not_null(admit(&t, i, A, &ev));
	op_of(50, op);
	errno = 0;
	cr_assert_null(pending_admit(&t, op, A, 0, refuse_eviction, NULL));
	cr_assert_eq(errno, EIO);
	cr_assert_null(find_n(&t, 50));
	cr_assert_eq(t.accounts[A].charged, 8);
	pending_free(&t);
}

Test(unit_pending_quota, a_max_below_the_provider_count_still_gives_each_one_entry)
{
	struct pending_table t;
	struct evictions ev;
	setup(&t, &ev, 64, 16);
	cr_assert_eq(t.quota, 1);
	for (uint32_t who = 0; who < 64; who++)
		cr_assert_not_null(admit(&t, 100 + who, who, &ev), "provider %u", who);
	cr_assert_eq(t.used, 64);
	cr_assert_not_null(admit(&t, 500, 63, &ev));
	cr_assert_eq(ev.n, 1);
	cr_assert_not_null(find_n(&t, 100), "provider 0's entry stays");
	pending_free(&t);
}
