/* SPDX-License-Identifier: Apache-2.0 */
/* The files of a version 2 ledger (docs/LEDGER.md "Files"): the live
 * segment at the ledger's path, the sealed ones beside it as PATH.NNNNNN,
 * and the spare PATH.next once the association began a segment in it (the
 * supervisor renames it a moment later). Ordered by the segment number
 * each file states, which is what a reader trusts, not the name. */
#ifndef MPBS_LEDGER2_FILES_H
#define MPBS_LEDGER2_FILES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct l2_segment_file {
	char path[PATH_MAX];
	uint32_t segment;  /* as the file states it */
	uint64_t size;
};

/* The segment number a file states; 0 when it is empty or shorter than
 * that, -1 (errno) when it cannot be read, -2 when it is not a version 2
 * segment. */
int64_t l2_file_segment_number(const char *path, uint64_t *size);

/* The segment files of the ledger at path, in order, as a malloc'd array
 * (*n of them; an empty live file and an empty spare are left out).
 * Returns 0, or -1 with why set: a file that cannot be read, one that is
 * not a version 2 segment, a sealed file whose name says another number
 * than it states (an empty one included), or two files stating the same
 * number. */
int l2_segment_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen);

#endif
