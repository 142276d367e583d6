/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery of the ledger's torn tail, run by the supervisor (root) before
 * every start of the association: the first one (ledger_file_open) and each
 * restart (supervise.c). The association cannot do it: the inode is
 * append-only and it has no privilege.
 *
 * The file was written by a role assumed hostile, so the rule parses no
 * JSON: the file is cut from the start of the first line that holds a NUL
 * byte (a power cut can leave zero-filled blocks in the unsynced tail, with
 * later lines after them), or, without one, just after the last newline (a
 * partial last line). A complete line that does not parse or does not chain
 * is left alone: the association refuses it. The cut bytes are saved beside
 * the ledger first (docs/RELIABILITY.md "Recovery of the ledger"). */
#ifndef MPBS_LEDGER_RECOVER_H
#define MPBS_LEDGER_RECOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most bytes of one cut saved beside the ledger. A torn tail is one group
 * commit (a partial line after a kill, a batch after a power cut), far
 * below this; the log says when a cut was larger and only its start kept. */
#define LEDGER_CUT_SAVE_MAX (4 << 20)

struct ledger_cut {
	off_t offset;         /* where the file now ends */
	off_t length;         /* bytes cut: 0 when the file needed nothing */
	uint64_t lines;       /* complete lines (ending in a newline) among them */
	bool nul;             /* cut from a line holding a NUL byte (else: a partial last line) */
	off_t saved_len;      /* bytes saved: less than length when capped */
	char saved[PATH_MAX]; /* where: <ledger>.cut-<offset>[.<n>] */
};

/* Cuts the torn tail of the ledger open at fd (path names it for the
 * saved copy and the log), fsyncs the file and the saved copy, keeps
 * FS_APPEND_FL as it was, and logs what was cut. Returns 0 (cut->length
 * says whether anything was cut), or -1 with err set and the file as it
 * was: nothing is cut unless it was saved first. */
int ledger_file_recover(int fd, const char *path, struct ledger_cut *cut, char *err, size_t errlen);

#endif
