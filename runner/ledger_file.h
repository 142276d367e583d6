/* SPDX-License-Identifier: Apache-2.0 */
/* One ledger segment file as the supervisor opens it for the association:
 * O_RDWR|O_APPEND (what the association writes lands at the end, whatever
 * it asks), a regular file reached through no symlink, mode LEDGER_FILE_MODE
 * when created, owned by the supervisor (root): the association writes
 * through the fd it is handed and never opens a path. Which file is which
 * is runner/segments.c's concern. */
#ifndef MPBS_LEDGER_FILE_H
#define MPBS_LEDGER_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Readable by all: a ledger is verified with public keys only, by anyone. */
#define LEDGER_FILE_MODE 0644

/* Opens name in the directory dirfd (path: how messages name it); create:
 * a new file (O_CREAT|O_EXCL), else an existing one. Returns the fd
 * (O_CLOEXEC), or -1 with errno and err set. */
int ledger_file_open(int dirfd, const char *name, const char *path, bool create, char *err, size_t errlen);

#endif
