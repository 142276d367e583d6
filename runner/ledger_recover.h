/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery of a ledger segment's torn tail, run by the supervisor (root)
 * before every start of the association: the first one and each restart
 * (runner/segments.c). The association cannot do it: the inode is
 * append-only and it has no privilege.
 *
 * The file was written by a role assumed hostile, so the rule reads block
 * headers only (docs/LEDGER.md "Encoding"): after the 8-byte magic, block
 * after block, the file is cut at the first block whose marker is not 0xB2,
 * whose body length is out of range, or whose length runs past the end of
 * the file (a kill or a power cut inside a group commit, or zero-filled
 * blocks a power cut left). A segment whose first block (its segment
 * record) is cut is cut whole, magic included: a segment without its first
 * block is nothing the association could continue, and an empty file is a
 * fresh one. A block that is framed but holds nonsense is left alone: the
 * verifier says so. The cut bytes are saved beside the ledger first
 * (docs/RELIABILITY.md "Recovery of the ledger"). */
#ifndef MPBS_LEDGER_RECOVER_H
#define MPBS_LEDGER_RECOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most bytes of one cut saved beside the ledger. A torn tail is one group
 * commit (a partial block after a kill, a few after a power cut), far below
 * this; the log says when a cut was larger and only its start kept. */
#define LEDGER_CUT_SAVE_MAX (4 << 20)

/* Why the file was cut where it was. */
enum ledger_cut_reason {
	LEDGER_CUT_NONE,
	LEDGER_CUT_MAGIC,     /* the file ends within or right after the magic (a torn first write) */
	LEDGER_CUT_MARKER,    /* a block's marker is not 0xB2 (zero fill, garbage) */
	LEDGER_CUT_LENGTH,    /* a block's body length is out of range */
	LEDGER_CUT_PAST_EOF,  /* a block's length runs past the end of the file */
};

struct ledger_cut {
	off_t offset;         /* where the file now ends */
	off_t length;         /* bytes cut: 0 when the file needed nothing */
	enum ledger_cut_reason reason;
	off_t block;          /* where the first bad block began (offset is 0 when it was the first) */
	uint64_t blocks;      /* complete blocks kept */
	off_t saved_len;      /* bytes saved: less than length when capped */
	char saved[PATH_MAX]; /* where: <ledger>.cut-<offset>[.<n>] */
};

/* Cuts the torn tail of the version 2 segment open at fd (path names it
 * for the saved copy and the log): the file must begin with the magic, or
 * a part of it. Fsyncs the file and the saved copy, keeps FS_APPEND_FL as
 * it was, and logs what was cut. Returns 0 (cut->length says whether
 * anything was cut), or -1 with err set and the file as it was: nothing is
 * cut unless it was saved first. */
int ledger_file_recover(int fd, const char *path, struct ledger_cut *cut, char *err, size_t errlen);

#endif
