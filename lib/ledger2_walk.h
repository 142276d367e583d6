/* SPDX-License-Identifier: Apache-2.0 */
/* A walk over the logical records of one version 2 segment file
 * (docs/LEDGER.md): each signal of a `signals` record and each entry of a
 * `confirmed` or `incomplete` record on its own, operation references
 * resolved to ids, provider indexes to names. For readers that only look
 * (`ledger cat`, the tests' counts); it checks framing, not chains or
 * signatures (ledger2_verify.h does). */
#ifndef MPBS_LEDGER2_WALK_H
#define MPBS_LEDGER2_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger2.h"

struct l2_entry {
	uint8_t type;               /* enum l2_type */
	uint32_t segment;
	uint64_t record;            /* its number, from the segment's first_record */
	uint64_t block;             /* block number in the file, from 1 */
	uint64_t block_t;           /* the block's time */
	const char *provider;       /* signals, checkpoint, rejected */
	const uint8_t *op;          /* signals, confirmed, incomplete */
	uint8_t stage;              /* signals: STAGE_START or STAGE_COMPLETE */
	const uint8_t *value;       /* signals */
	uint64_t t, pseq;           /* signals: the provider's time and pseq */
	uint64_t mask;              /* confirmed, incomplete */
	const char *reason;         /* rejected */
	const struct l2_checkpoint_rec *checkpoint;
	const struct l2_head_rec *head;
	const struct l2_segment_hdr *hdr; /* the segment's first record: its number, providers */
};

/* Returns 0 to go on, anything else to stop the walk with that value. */
typedef int (*l2_entry_fn)(void *ctx, const struct l2_entry *e);

/* Walks the segment file open at fd from its start. A torn last block
 * ends the walk quietly when torn_ok (a live segment being written);
 * otherwise it, and any malformed byte, is an error. Returns 0 at the
 * end, fn's value if it stopped the walk, or -1 with why set. */
int l2_walk_fd(int fd, bool torn_ok, l2_entry_fn fn, void *ctx, char *why, size_t whylen);

#endif
