/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger file as the supervisor prepares it: created if missing, opened
 * O_APPEND for the association, and marked append-only at the inode
 * (FS_APPEND_FL) so that not even the association can rewrite history. */
#ifndef MPBS_LEDGER_FILE_H
#define MPBS_LEDGER_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the fd (O_RDWR|O_APPEND|O_CLOEXEC), or -1 with err set. A torn
 * tail is cut first (ledger_recover.h), as before every restart.
 * *append_only tells whether the inode flag could be set (some filesystems,
 * e.g. older tmpfs, do not support it; the caller warns). */
int ledger_file_open(const char *path, bool *append_only, char *err, size_t errlen);

#endif
