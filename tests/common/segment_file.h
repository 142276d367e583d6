/* SPDX-License-Identifier: Apache-2.0 */
/* Ledger segment files made by hand for the supervisor's tests
 * (runner/segments.c, runner/ledger_recover.c): the supervisor reads only
 * the magic, block headers and the segment record's fixed head, so a file
 * framed like a segment (docs/LEDGER.md "Encoding") with filler bodies is
 * what it meets in a real one. */
#ifndef MPBS_TEST_SEGMENT_FILE_H
#define MPBS_TEST_SEGMENT_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Most bytes of a file made here. */
#define SF_MAX (1u << 20)

struct sf {
	uint8_t bytes[SF_MAX];
	size_t len;
	size_t block_end[64]; /* where each block ends, in order */
	size_t n_blocks;
};

/* The magic and a first block of body_len bytes (at least 10) whose
 * segment record says segment `number`. */
void sf_begin(struct sf *f, uint32_t number, size_t body_len);
/* A block of body_len bytes (a record of type type filling it). */
void sf_block(struct sf *f, uint8_t type, size_t body_len);
/* Writes f's first len bytes to path (created or truncated, mode 0644).
 * Returns 0, or -1 with errno. */
int sf_write(const struct sf *f, size_t len, const char *path);

#endif
