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
 * thousand operations since hashed slots land anywhere. */
#ifndef MPBS_PENDING_H
#define MPBS_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct pending_op {
	uint8_t op[WIRE_DIGEST_LEN];
	uint64_t created_ms;
	uint32_t prev, next;     /* insertion-order list, slab indices + 1 (0 = none) */
	uint32_t complete;       /* providers with both stages */
	bool confirmed;
	uint8_t *have;           /* per provider: bit0 START, bit1 COMPLETE */
	uint8_t (*values)[2][WIRE_DIGEST_LEN]; /* per provider: START, COMPLETE */
};

struct pending_table {
	size_t n_providers;
	uint32_t max, used;
	struct pending_op *slab;
	uint8_t *have_slab;
	uint8_t (*value_slab)[2][WIRE_DIGEST_LEN];
	uint32_t *free_list;     /* stack of freed slab indices (n_stack of them) */
	uint32_t n_stack;
	uint32_t fresh;          /* slab entries [fresh, max) were never handed out */
	uint32_t n_free;         /* entries available: n_stack + max - fresh */
	uint32_t *index;         /* open addressing, slab index + 1, 0 = empty */
	size_t index_mask;       /* slots - 1 */
	size_t index_max;        /* slots at full size: a power of two >= 2 * max */
	uint32_t oldest, newest; /* slab index + 1 */
	uint8_t hash_key[16];
};

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

#endif
