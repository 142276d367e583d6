/* SPDX-License-Identifier: Apache-2.0 */
/* A version 2 segment file (docs/LEDGER.md "Encoding") taken apart into
 * its blocks and records, for tests that forge copies of a real ledger:
 * change bytes, drop or reorder blocks, and write the result, optionally
 * re-chained as a forger without the association's key would (every
 * head's covers and chain recomputed over the blocks as written, its
 * signature kept). Positions are given the way `verify` names a failure:
 * record number, block number from 1, byte offset of the block. */
#ifndef MPBS_TEST_LEDGER2_BLOCKS_H
#define MPBS_TEST_LEDGER2_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/ledger2.h"

struct l2b_record {
	uint8_t type;        /* enum l2_type */
	size_t block;        /* index in blocks[] */
	size_t payload, len; /* the payload's offset in the file and its length */
	uint64_t number;     /* the number of its first logical record */
	uint64_t count;      /* logical records it holds (signals, entries) */
	int p;               /* signals, checkpoint, rejected: the provider index; else -1 */
};

struct l2b_block {
	size_t off, len;        /* in the file, marker to end of body */
	size_t first_rec, n_recs; /* in recs[] */
	uint64_t records;       /* logical records it holds */
};

struct l2b_file {
	uint8_t *bytes;
	size_t len;
	struct l2b_block *blocks;
	size_t n_blocks;
	struct l2b_record *recs;
	size_t n_recs;
	struct l2_segment_hdr hdr; /* its segment record */
};

/* Where verify places something: record number, block (from 1), offset. */
struct l2b_pos {
	uint64_t record;
	size_t block;
	size_t offset;
};

/* Reads and splits the segment file at path (whole blocks only: a torn
 * tail is an error). Returns 0, or -1. */
int l2b_load(struct l2b_file *f, const char *path);
void l2b_free(struct l2b_file *f);
/* The number of the last record of the file. */
uint64_t l2b_last_record(const struct l2b_file *f);

/* order[0..n) := 0..f->n_blocks-1 without the index skip (SIZE_MAX: none);
 * returns n. order holds f->n_blocks entries. */
size_t l2b_order(const struct l2b_file *f, size_t *order, size_t skip);
/* The position of the block order[at] when the blocks are written in that
 * order: its first record's number, its block number and offset. */
struct l2b_pos l2b_position(const struct l2b_file *f, const size_t *order, size_t at);
/* Writes the magic and blocks order[0..n) to path (created or truncated);
 * rechain: each head's covers and chain set to those of the blocks before
 * it as written. Returns 0, or -1. */
int l2b_write(const struct l2b_file *f, const size_t *order, size_t n, bool rechain, const char *path);

/* Adds a block of time t holding one record (type, payload) to f's blocks,
 * at the end of blocks[] (place it with an order); its records are not
 * numbered. Returns its index, or SIZE_MAX. */
size_t l2b_add_block(struct l2b_file *f, uint64_t t, uint8_t type, const void *payload, size_t len);

/* Index of the first record at or after from of type, of provider p (-1:
 * any), that is first in its block when first_in_block; f->n_recs when none. */
size_t l2b_find(const struct l2b_file *f, size_t from, uint8_t type, int p, bool first_in_block);
/* The file offset of the value of signal i of the signals record r. */
size_t l2b_signal_value(const struct l2b_file *f, size_t r, unsigned i);
/* The file offset of the mask of entry i of the confirmed or incomplete
 * record r; *len its varint's length. */
size_t l2b_closed_mask(const struct l2b_file *f, size_t r, unsigned i, size_t *len);

#endif
