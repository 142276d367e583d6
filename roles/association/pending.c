/* SPDX-License-Identifier: Apache-2.0 */
#include "pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static size_t hash_of(const struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, op, WIRE_DIGEST_LEN, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v;
}

static size_t slot_of(const struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN])
{
	return hash_of(t, op) & t->index_mask;
}

/* The index starts at this many slots (4 KiB) and doubles while more than
 * half full, up to index_max. */
#define INDEX_MIN_SLOTS 1024

int pending_init(struct pending_table *t, size_t n_providers, uint32_t max)
{
	size_t slots = 16;
	memset(t, 0, sizeof(*t));
	if (n_providers == 0 || n_providers > 64) {
		errno = EINVAL;
		return -1;
	}
	if (max < n_providers)
		max = (uint32_t)n_providers;
	while (slots < (size_t)max * 2)
		slots *= 2;
	t->n_providers = n_providers;
	t->max = max;
	t->index_max = slots;
	if (slots > INDEX_MIN_SLOTS)
		slots = INDEX_MIN_SLOTS;
	t->index_mask = slots - 1;
	/* calloc of a large block maps fresh zero pages: only the entries
	 * handed out become resident. The free list is not filled in advance
	 * (256 KiB written at start for 65536 entries): entries never used are
	 * counted by `fresh` instead. */
	t->slab = calloc(max, sizeof(*t->slab));
	t->have_slab = calloc((size_t)max * n_providers, 1);
	t->free_list = malloc((size_t)max * sizeof(*t->free_list));
	t->index = calloc(slots, sizeof(*t->index));
	t->accounts = calloc(n_providers, sizeof(*t->accounts));
	t->quota = max / (uint32_t)n_providers;
	if (!t->slab || !t->have_slab || !t->free_list || !t->index || !t->accounts) {
		pending_free(t);
		return -1;
	}
	t->n_free = max;
	crypto_shorthash_keygen(t->hash_key);
	return 0;
}

void pending_free(struct pending_table *t)
{
	free(t->slab);
	free(t->have_slab);
	free(t->free_list);
	free(t->index);
	free(t->accounts);
	memset(t, 0, sizeof(*t));
}

struct pending_op *pending_find(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN])
{
	for (size_t s = slot_of(t, op);; s = (s + 1) & t->index_mask) {
		uint32_t ref = t->index[s];
		if (ref == 0)
			return NULL;
		if (memcmp(t->slab[ref - 1].op, op, WIRE_DIGEST_LEN) == 0)
			return &t->slab[ref - 1];
	}
}

static void list_append(struct pending_table *t, uint32_t ref)
{
	struct pending_op *e = &t->slab[ref - 1];
	e->prev = t->newest;
	e->next = 0;
	if (t->newest)
		t->slab[t->newest - 1].next = ref;
	else
		t->oldest = ref;
	t->newest = ref;
}

static void list_unlink(struct pending_table *t, struct pending_op *e)
{
	if (e->prev)
		t->slab[e->prev - 1].next = e->next;
	else
		t->oldest = e->next;
	if (e->next)
		t->slab[e->next - 1].prev = e->prev;
	else
		t->newest = e->prev;
}

static void index_put(uint32_t *index, size_t mask, size_t s, uint32_t ref)
{
	while (index[s])
		s = (s + 1) & mask;
	index[s] = ref;
}

/* Doubles the index and rehashes the live entries (walked in insertion
 * order). Rare: log2(index_max / INDEX_MIN_SLOTS) times at most over the
 * table's life, since it never shrinks. Returns 0, or -1 if out of memory
 * (the old index stays). */
static int index_grow(struct pending_table *t)
{
	size_t slots = (t->index_mask + 1) * 2;
	uint32_t *index = calloc(slots, sizeof(*index));
	if (!index)
		return -1;
	for (uint32_t ref = t->oldest; ref; ref = t->slab[ref - 1].next) {
		index_put(index, slots - 1, hash_of(t, t->slab[ref - 1].op) & (slots - 1), ref);
	}
	free(t->index);
	t->index = index;
	t->index_mask = slots - 1;
	return 0;
}

struct pending_op *pending_insert(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN], uint64_t now_ms)
{
	if (t->n_free == 0) {
		errno = ENOSPC;
		return NULL;
	}
	size_t slots = t->index_mask + 1;
	/* Kept at most half full, so probes stay short; if it cannot grow it
	 * may fill up to 7/8 before inserts fail. */
	if (((size_t)t->used + 1) * 2 > slots && slots < t->index_max && index_grow(t) < 0 &&
	    ((size_t)t->used + 1) * 8 > slots * 7) {
		errno = ENOMEM;
		return NULL;
	}
	uint32_t i = t->n_stack > 0 ? t->free_list[--t->n_stack] : t->fresh++;
	t->n_free--;
	struct pending_op *e = &t->slab[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->op, op, WIRE_DIGEST_LEN);
	e->created_ms = now_ms;
	e->have = t->have_slab + (size_t)i * t->n_providers;
	memset(e->have, 0, t->n_providers);
	index_put(t->index, t->index_mask, slot_of(t, op), i + 1);
	list_append(t, i + 1);
	t->used++;
	return e;
}

/* Backward-shift deletion keeps linear probing correct without tombstones. */
static void index_delete(struct pending_table *t, uint32_t ref)
{
	size_t s = slot_of(t, t->slab[ref - 1].op);
	while (t->index[s] != ref)
		s = (s + 1) & t->index_mask;
	size_t hole = s;
	for (size_t j = (hole + 1) & t->index_mask; t->index[j]; j = (j + 1) & t->index_mask) {
		size_t home = slot_of(t, t->slab[t->index[j] - 1].op);
		/* Move j into the hole unless its home lies cyclically in (hole, j]. */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole] = 0;
}

/* ---- per-provider accounts ---- */

static uint32_t ref_of(const struct pending_table *t, const struct pending_op *e)
{
	return (uint32_t)(e - t->slab) + 1;
}

static void sole_append(struct pending_table *t, size_t who, struct pending_op *e)
{
	struct pending_account *a = &t->accounts[who];
	uint32_t ref = ref_of(t, e);
	e->sole_prev = a->sole_newest;
	e->sole_next = 0;
	if (a->sole_newest)
		t->slab[a->sole_newest - 1].sole_next = ref;
	else
		a->sole_oldest = ref;
	a->sole_newest = ref;
}

static void sole_unlink(struct pending_table *t, size_t who, struct pending_op *e)
{
	struct pending_account *a = &t->accounts[who];
	if (e->sole_prev)
		t->slab[e->sole_prev - 1].sole_next = e->sole_next;
	else
		a->sole_oldest = e->sole_next;
	if (e->sole_next)
		t->slab[e->sole_next - 1].sole_prev = e->sole_prev;
	else
		a->sole_newest = e->sole_prev;
	e->sole_prev = e->sole_next = 0;
}

/* An entry is on its contributor's sole list while it has exactly one. */
static void charge(struct pending_table *t, struct pending_op *e, size_t who)
{
	if (e->charged == 0)
		sole_append(t, who, e);
	else if ((e->charged & (e->charged - 1)) == 0)
		sole_unlink(t, (size_t)__builtin_ctzll(e->charged), e);
	e->charged |= 1ull << who;
	t->accounts[who].charged++;
}

static void uncharge_all(struct pending_table *t, struct pending_op *e)
{
	if (e->charged != 0 && (e->charged & (e->charged - 1)) == 0)
		sole_unlink(t, (size_t)__builtin_ctzll(e->charged), e);
	for (uint64_t m = e->charged; m; m &= m - 1)
		t->accounts[__builtin_ctzll(m)].charged--;
	e->charged = 0;
}

struct pending_op *pending_admit(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN], size_t who,
				 uint64_t now_ms, pending_evict_fn evict, void *ctx)
{
	struct pending_op *e = pending_find(t, op);
	if (e && (e->charged >> who) & 1)
		return e;
	struct pending_account *a = &t->accounts[who];
	if (a->charged >= t->quota) {
		if (a->sole_oldest == 0) {
			errno = ENOSPC;
			return NULL;
		}
		/* Not e: e is not charged to who, every sole entry of who is. */
		if (evict(ctx, &t->slab[a->sole_oldest - 1]) < 0)
			return NULL;
		if (a->charged >= t->quota) {
			errno = ENOSPC; /* the callback did not remove it */
			return NULL;
		}
	}
	if (!e)
		e = pending_insert(t, op, now_ms);
	if (e)
		charge(t, e, who);
	return e;
}

void pending_remove(struct pending_table *t, struct pending_op *e)
{
	uint32_t ref = (uint32_t)(e - t->slab) + 1;
	uncharge_all(t, e);
	index_delete(t, ref);
	list_unlink(t, e);
	/* Last in, first out: the entry reused next is one whose pages are
	 * already resident. */
	t->free_list[t->n_stack++] = ref - 1;
	t->n_free++;
	t->used--;
}

struct pending_op *pending_oldest(struct pending_table *t)
{
	return t->oldest ? &t->slab[t->oldest - 1] : NULL;
}

struct pending_op *pending_next(struct pending_table *t, const struct pending_op *e)
{
	return e->next ? &t->slab[e->next - 1] : NULL;
}
