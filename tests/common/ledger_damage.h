/* SPDX-License-Identifier: Apache-2.0 */
/* A version 2 segment file damaged the way a kill, a power cut or a forger
 * leaves it (docs/LEDGER.md "Encoding"), for the e2e tests of the ledger's
 * recovery (the supervisor's cut of a torn tail, the association's
 * rebuild): where its complete blocks lie, a torn block appended, a byte
 * flipped inside a record, the file kept up to one of its records, a copy
 * of the ledger as a kill left it. Test ledgers are small: each call reads
 * whole files. */
#ifndef MPBS_TEST_LEDGER_DAMAGE_H
#define MPBS_TEST_LEDGER_DAMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A segment file as read, block by block. */
struct dmg_segment {
	uint8_t *bytes;     /* the whole file */
	size_t len;
	size_t *block_off;  /* where each complete block begins, in order */
	size_t n_blocks;
	size_t end;         /* where the last complete block ends: len - end torn bytes follow */
};

/* Reads the segment at path. Returns 0, or -1 (unreadable, no version 2
 * magic, or bytes that are not a block before the end). */
int dmg_read(const char *path, struct dmg_segment *s);
void dmg_free(struct dmg_segment *s);

/* A record's place in the file. */
struct dmg_record {
	size_t block;  /* index into block_off */
	size_t off;    /* file offset of its header (type, len) */
	size_t len;    /* header and payload */
	uint8_t type;
};
/* The last record of type in blocks [0, before); false when there is none. */
bool dmg_last_record(const struct dmg_segment *s, uint8_t type, size_t before, struct dmg_record *r);
/* Index of the last block whose first record is of type, or SIZE_MAX;
 * of the first such block at or after index from. */
size_t dmg_last_block_of(const struct dmg_segment *s, uint8_t type);
size_t dmg_first_block_of(const struct dmg_segment *s, uint8_t type, size_t from);
/* s's bytes up to the end of record r, r's block framed again to end there
 * (its body_len shortened), as a kill between two records of one block
 * would have left them were they written apart. malloc'd; *len set. */
uint8_t *dmg_keep_through(const struct dmg_segment *s, const struct dmg_record *r, size_t *len);

/* Copies every segment file of the ledger at from (ledger2_files.h) to the
 * same name with to in place of from: the ledger as it is now, to check
 * apart from what a later run adds. Returns 0, or -1. */
int dmg_copy_ledger(const char *from, const char *to);

/* Appends to path a block header declaring body_len body bytes followed by
 * only present of them (present < body_len): a write cut short. Opened
 * O_APPEND, which the inode's append-only flag still allows. Returns the
 * offset the torn block begins at, or -1 with errno. */
off_t dmg_append_torn_block(const char *path, uint32_t body_len, size_t present);
/* Flips the lowest bit of the byte at off in place, lifting the inode's
 * append-only flag (root) for the write and setting it again. Returns 0,
 * or -1 with errno. */
int dmg_flip_byte(const char *path, size_t off);

#endif
