/* SPDX-License-Identifier: Apache-2.0 */
/* What segments.c (names, rotation) and segments_retain.c (removal) share. */
#ifndef MPBS_SEGMENTS_INTERNAL_H
#define MPBS_SEGMENTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "segments.h"

/* What a file holds, from its fixed header alone. */
enum seg_kind {
	SEG_MISSING, /* no such file */
	SEG_EMPTY,
	SEG_V1,      /* a version 1 ledger: it begins with '{' */
	SEG_V2,      /* a segment: the magic, a whole first block, a segment record; number set */
	SEG_TORN,    /* the magic (or a part of it) without a whole first block */
	SEG_FOREIGN, /* anything else */
};
struct seg_file {
	enum seg_kind kind;
	uint32_t number; /* SEG_V2: the segment's number (never 0) */
};

/* Classifies the file open at fd (-1: SEG_MISSING). */
void seg_classify(int fd, struct seg_file *f);

/* Renames from to to in the ledger's directory (never over an existing
 * file), from being the file open at fd; its append-only flag is lifted
 * for the rename and set again. Returns 0, or -1 with err set. */
int seg_rename(struct segments *sg, int fd, const char *from, const char *to, char *err, size_t errlen);

/* Whether fd (>= 0) is open on the file st describes. */
bool seg_same_file(const struct stat *st, int fd);

/* The highest number among the sealed segments' names (0: none). */
int seg_newest_sealed(struct segments *sg, uint32_t *newest, char *err, size_t errlen);

#endif
