/* SPDX-License-Identifier: Apache-2.0 */
/* The inode's append-only flag (FS_APPEND_FL, `chattr +a`): once set, not
 * even the file's owner may rewrite, truncate or remove it; only a process
 * with CAP_LINUX_IMMUTABLE may clear it. The supervisor sets it on the
 * ledger so that a compromised association can only append. */
#ifndef MPBS_APPEND_ONLY_H
#define MPBS_APPEND_ONLY_H

#include <stdbool.h>
#include <stddef.h>

/* Sets or clears FS_APPEND_FL on fd's inode. Returns 0, or -1 with errno
 * (ENOTTY or EOPNOTSUPP: the filesystem has no such flag). */
int append_only_set(int fd, bool append_only);

/* Whether fd's inode carries FS_APPEND_FL (false where the filesystem has
 * no such flag). */
bool append_only_is_set(int fd);

/* Clears FS_APPEND_FL on the file at path (tests and `--audit` cleanup
 * remove their ledgers). Returns 0, or -1 with err set. */
int append_only_clear(const char *path, char *err, size_t errlen);

#endif
