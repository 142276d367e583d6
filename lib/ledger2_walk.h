/* SPDX-License-Identifier: Apache-2.0 */
/* A walk over the logical records of one version 2 segment file
 * (docs/LEDGER.md): each signal of a `signals` record and each entry of a
 * `confirmed` or `incomplete` record on its own, operation references
 * resolved to ids, provider indexes to names. For `ledger cat`, the tests'
 * counts and the association's rebuild; it checks framing, not chains or
 * signatures (ledger2_verify.h does, and the rebuild replays them). */
#ifndef MPBS_LEDGER2_WALK_H
#define MPBS_LEDGER2_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger2.h"
#include "ledger2_files.h"

struct l2_entry {
	uint8_t type;               /* enum l2_type */
	uint32_t segment;
	uint64_t record;            /* its number, from the segment's first_record */
	uint64_t block;             /* block number in the file, from 1 */
	uint64_t block_off;         /* its offset in the file */
	uint64_t block_t;           /* the block's time */
	const char *provider;       /* signals, checkpoint, rejected */
	uint8_t p;                  /* the same as an index in the segment's provider table */
	const uint8_t *op;          /* signals, confirmed, incomplete */
	uint8_t stage;              /* signals: STAGE_START or STAGE_COMPLETE */
	const uint8_t *value;       /* signals */
	uint64_t t, pseq;           /* signals: the provider's time and pseq */
	uint64_t mask;              /* confirmed, incomplete */
	const char *reason;         /* rejected */
	const struct l2_checkpoint_rec *checkpoint;
	const struct l2_head_rec *head;
	const struct l2_segment_hdr *hdr; /* the segment's first record: its number, providers */
	const struct l2_segment_start *start; /* segment: all it states (provider states with their
					       * uncovered signals, carried operations) */
};

/* Returns 0 to go on, anything else to stop the walk with that value. */
typedef int (*l2_entry_fn)(void *ctx, const struct l2_entry *e);

/* What the walks return when a file cannot be read (-1: a malformed one). */
#define L2_WALK_UNREADABLE L2_FILES_UNREADABLE

/* Walks the segment file open at fd from its start. A torn last block
 * ends the walk quietly when torn_ok (a live segment being written);
 * otherwise it, and any malformed byte, is an error. Returns 0 at the
 * end, fn's value if it stopped the walk, or -1 (malformed) or
 * L2_WALK_UNREADABLE with why set. */
int l2_walk_fd(int fd, bool torn_ok, l2_entry_fn fn, void *ctx, char *why, size_t whylen);

/* Called after the records of each block, with the block's bytes and its
 * offset in the file: 0 to go on, anything else stops the walk with it. */
typedef int (*l2_block_fn)(void *ctx, const struct l2_block *b, uint64_t offset);
/* l2_walk_fd with block_fn (may be NULL) and, at the end, *n_ops: the
 * operations the segment numbered (what a writer continuing it needs). */
int l2_walk_fd_blocks(int fd, bool torn_ok, l2_entry_fn fn, l2_block_fn block_fn, void *ctx, uint64_t *n_ops,
		      char *why, size_t whylen);

/* The same over every segment of the ledger at path, in order
 * (ledger2_files.h l2_segment_files); the newest may end in a torn block. */
int l2_walk_ledger(const char *path, l2_entry_fn fn, void *ctx, char *why, size_t whylen);

/* Records of a type ("confirmed", "signal", ... as l2_type_name says) in
 * the ledger at path, of one provider when provider is not NULL; 0 when it
 * cannot be read. For the tests and the audit, which watch a ledger grow. */
size_t l2_count_ledger(const char *path, const char *type, const char *provider);

#endif
