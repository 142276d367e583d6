/* SPDX-License-Identifier: Apache-2.0 */
/* The one directory a running instance keeps its runtime state in: the
 * uid-range lock and the status of each running instance. Root's is
 * RUNTIME_DIR_ROOT; a user's (rootless) is $XDG_RUNTIME_DIR/mpbs. Either is
 * created on first use and must belong to the caller and be writable by
 * the caller only: whoever can replace a file in it can make two runs share
 * uids or forge a running instance's status. */
#ifndef MPBS_RUNTIME_DIR_H
#define MPBS_RUNTIME_DIR_H

#include <stddef.h>

#define RUNTIME_DIR_ROOT "/run/mpbs"

/* Writes the caller's runtime directory's path into path[cap]. Returns 0,
 * or -1 with err set (a non-root caller without XDG_RUNTIME_DIR). */
int runtime_dir_path(char *path, size_t cap, char *err, size_t errlen);

/* Creates the directory if it is missing (0755 for root, so `status` run by
 * root finds it; 0700 for a user), checks its owner and mode, and returns
 * an O_DIRECTORY fd (O_CLOEXEC) to it, or -1 with err naming the path. */
int runtime_dir_open(char *err, size_t errlen);

#endif
