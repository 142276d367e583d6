/* SPDX-License-Identifier: Apache-2.0 */
/* The association's table of operations awaiting confirmation: bounded in
 * number (a fixed slab) and age (kept in insertion order, so expiry is a walk
 * from the oldest). Keys are operation ids chosen by providers, so they are
 * hashed with a secret SipHash key: a provider cannot aim collisions.
 *
 * Resident memory follows the most operations ever pending at once, not
 * pending_max: the slabs are reserved whole but touched from the low end
 * (fresh entries in order, freed ones reused last-in first-out), and the
 * hash index starts small and doubles with the live count. A fixed index
 * for pending_max = 65536 would be 512 KiB, all of it touched within a few
 * thousand operations since hashed slots land anywhere.
 *
 * Per-provider quotas: every provider is charged for each entry
 * it contributed a covered value to, and may be charged for at most
 * quota = max / n_providers entries. At its quota it can only make room by
 * evicting its own oldest *sole* entry (one no other provider contributed
 * to), never an entry another provider holds a value in: a provider that
 * floods operation ids, or races to be first on everyone's operations,
 * evicts only itself. As every entry has a contributor, the entries
 * charged never exceed n_providers * quota <= max, so the table cannot be
 * full while the one asking is under its quota. */
#ifndef MPBS_PENDING_H
#define MPBS_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/wire.h"

struct pending_op {
	uint8_t op[WIRE_DIGEST_LEN];
	uint64_t created_ms;
	uint32_t prev, next;     /* insertion-order list, slab indices + 1 (0 = none) */
	uint32_t complete;       /* providers with both stages */
	bool confirmed;
	bool recorded;           /* its `confirmed` record is in the ledger (a rebuild reads it) */
	uint8_t *have;           /* per provider: bit0 START, bit1 COMPLETE */
	uint64_t charged;        /* bit i: provider i contributed (pending_admit) */
	uint32_t sole_prev, sole_next; /* its one contributor's list of sole entries */
};

/* What one provider is charged for. */
struct pending_account {
	uint32_t charged;        /* entries it contributed to */
	uint32_t sole_oldest, sole_newest; /* its sole entries, oldest first (slab index + 1) */
};

struct pending_table {
	size_t n_providers;
	uint32_t max, used;
	struct pending_op *slab;
	uint8_t *have_slab;
	uint32_t *free_list;     /* stack of freed slab indices (n_stack of them) */
	uint32_t n_stack;
	uint32_t fresh;          /* slab entries [fresh, max) were never handed out */
	uint32_t n_free;         /* entries available: n_stack + max - fresh */
	uint32_t *index;         /* open addressing, slab index + 1, 0 = empty */
	size_t index_mask;       /* slots - 1 */
	size_t index_max;        /* slots at full size: a power of two >= 2 * max */
	uint32_t oldest, newest; /* slab index + 1 */
	uint8_t hash_key[16];
	uint32_t quota;          /* entries one provider may be charged for */
	struct pending_account *accounts; /* per provider */
};

/* n_providers at most 64. A max below n_providers is raised to it, so that
 * each provider's quota is at least one entry. */
int pending_init(struct pending_table *t, size_t n_providers, uint32_t max);
void pending_free(struct pending_table *t);
struct pending_op *pending_find(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN]);
/* Inserts a fresh entry; NULL if the table is full (the caller evicts the
 * oldest first), or if the index could not grow and is too full to go on
 * (out of memory). */
struct pending_op *pending_insert(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN], uint64_t now_ms);
void pending_remove(struct pending_table *t, struct pending_op *e);
/* Oldest entry, or NULL. */
struct pending_op *pending_oldest(struct pending_table *t);
/* The entry inserted after e, or NULL. */
struct pending_op *pending_next(struct pending_table *t, const struct pending_op *e);

/* Called with the entry pending_admit must drop to make room for its
 * provider; it must remove it (pending_remove) and return 0, or -1 to
 * abandon the admission. */
typedef int (*pending_evict_fn)(void *ctx, struct pending_op *e);

/* The entry of op, found or inserted, with provider `who` charged for it.
 * An entry already charged to who is returned as it is. When who is at its
 * quota, its own oldest sole entry is handed to evict first. Returns NULL
 * with errno ENOSPC when who is at its quota and holds no sole entry (every
 * one it holds is shared: its new contribution is not tracked), ENOMEM when
 * the index could not grow, or the evict callback's errno when it failed. */
struct pending_op *pending_admit(struct pending_table *t, const uint8_t op[WIRE_DIGEST_LEN], size_t who,
				 uint64_t now_ms, pending_evict_fn evict, void *ctx);

#endif
