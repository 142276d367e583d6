/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a version 2 segment file block by block through one bounded
 * buffer (the largest block and one read ahead), whatever the file's size:
 * what the verifier and `mpbs-run ledger cat` read with. */
#ifndef MPBS_LEDGER2_READ_H
#define MPBS_LEDGER2_READ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger2.h"

enum l2_read_status {
	L2_READ_OK,    /* a block */
	L2_READ_END,   /* the file ends after the last block */
	L2_READ_TORN,  /* the file ends inside a block (a torn tail) */
	L2_READ_BAD,   /* not a block: its marker or length */
	L2_READ_IO,    /* read(2) failed: errno */
};

struct l2_reader {
	int fd;
	uint8_t *buf;
	size_t cap, start, end;
	uint64_t buf_off;          /* file offset of buf[0] */
	bool eof;
	uint64_t block_no;         /* of the block last returned, from 1 */
	uint64_t block_off;        /* its offset in the file */
	_Atomic uint64_t *progress; /* when set, bytes read are added to it */
};

/* What a file starts with. */
enum l2_file_kind { L2_FILE_EMPTY, L2_FILE_V1, L2_FILE_V2, L2_FILE_OTHER };

/* Reads the start of fd (from offset 0): its kind. Returns -1 with errno
 * when it cannot be read. For a version 2 file, r is then positioned after
 * the magic (r was initialised by l2_reader_init). */
int l2_reader_start(struct l2_reader *r, enum l2_file_kind *kind);
/* r reads fd. Returns 0, or -1 (ENOMEM). */
int l2_reader_init(struct l2_reader *r, int fd);
void l2_reader_free(struct l2_reader *r);
/* The next block; its bytes stay valid until the next call. */
enum l2_read_status l2_reader_next(struct l2_reader *r, struct l2_block *b);

/* The kind of the file at fd from its first bytes (pread, no position
 * change), and when a version 2 file its segment number (0 if the file is
 * too short to hold one). Returns -1 with errno on a read error. */
int l2_file_peek(int fd, enum l2_file_kind *kind, uint32_t *segment);

#endif
