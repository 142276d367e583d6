/* SPDX-License-Identifier: Apache-2.0 */
/* The files of a version 2 ledger (docs/LEDGER.md "Files"): the live
 * segment at the ledger's path, the sealed ones beside it as PATH.NNNNNN,
 * and the spare PATH.next once the association began a segment in it (the
 * supervisor renames it a moment later). Nothing else beside it is one
 * (PATH.v1, PATH.cut-OFFSET, a lock). Ordered by the segment number each
 * file states, which is what a reader trusts, not the name. */
#ifndef MPBS_LEDGER2_FILES_H
#define MPBS_LEDGER2_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the functions below return when a file or the directory cannot be
 * read (-1 is a finding about the files themselves). */
#define L2_FILES_UNREADABLE (-2)

struct l2_segment_file {
	char path[PATH_MAX];
	/* The live segment and the written spare are open since the listing
	 * (l2_ledger_files; -1 for the others: a sealed segment keeps its
	 * name): a reader takes the file listed, not whatever has the name by
	 * the time it reads, since a rotation renames those two and puts a
	 * fresh empty spare in the spare's place. */
	int fd;
	uint64_t dev, ino; /* its identity at the listing */
	uint32_t segment;  /* as the file states it; 0: none (empty, shorter than that, or not_v2) */
	bool not_v2;       /* it begins with other bytes than the magic */
	uint32_t named;    /* the number its sealed name says (0: not a sealed name) */
	uint64_t size;
};

/* "LEDGER.000042": the name of sealed segment number beside the ledger
 * named base (six digits at least, more past 999999). 0, or -1 with errno
 * ENAMETOOLONG when it does not fit in cap. */
int l2_sealed_name(const char *base, uint32_t number, char *out, size_t cap);

/* The number in a sealed segment's name beside the ledger named base,
 * written exactly as l2_sealed_name writes it; 0 for any other name (the
 * live segment, the spare, LEDGER.v1, LEDGER.cut-*, a lock). */
uint32_t l2_sealed_number(const char *base, const char *name);

/* f for the file at path: its stated number, size and identity, and kept
 * open when keep (else f->fd is -1 and a reader opens it by name). 0, or
 * -1 (errno) when it cannot be read (nothing left open). */
int l2_segment_file_read(struct l2_segment_file *f, const char *path, bool keep);

/* Closes every file's fd and frees the array (NULL is fine). */
void l2_segment_files_free(struct l2_segment_file *files, size_t n);

/* Oldest first: a file with bytes that states no number first (a reader
 * fails on it there), an empty one last (a live segment not yet written). */
void l2_segment_files_sort(struct l2_segment_file *files, size_t n);

/* Every file that may be a segment of the ledger at path, as found: path
 * itself (even empty), its sealed siblings, the spare once written; each
 * read, sorted, the live one and the spare open. A listing that a rotation
 * crossed (a name gone when opened, a name that no longer leads to the
 * file read under it, one file under two names) is taken again, up to 20
 * times. For `verify`, which judges each file in its place. Returns 0, or L2_FILES_UNREADABLE with why set; free the array
 * with l2_segment_files_free. */
int l2_ledger_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen);

/* The segment files of the ledger at path, in order, as a malloc'd array
 * to free with l2_segment_files_free (*n of them; an empty live file
 * and one shorter than its number are left out). Returns 0; L2_FILES_UNREADABLE, or -1 for one that is not a
 * version 2 segment or two files stating the same number, with why set. */
int l2_segment_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen);

#endif
