/* Small file-system chores that the supervisor and the roles both need,
 * written once. */
#ifndef MPBS_FSUTIL_H
#define MPBS_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>

/* mkdir -p of path's parent directories (not of path itself), mode 0755:
 * traversable by the roles' host uids. Returns 0, or -1 with err set. */
int fs_mkdir_parents(const char *path, char *err, size_t errlen);

/* Opens a regular file read-only (O_NONBLOCK: a FIFO in its place cannot
 * block the open or a read) and fills *st. Returns the fd, or -1 with err
 * set ("open PATH: ...", "PATH: not a regular file"). */
int fs_open_regular(const char *path, struct stat *st, char *err, size_t errlen);

/* Reads fd to its end or to cap + 1 bytes, whichever comes first: *len is
 * cap + 1 when the file holds more than cap. Returns 0, or -1 with err set
 * ("read PATH: ..."). */
int fs_read_upto(int fd, const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen);

/* Both, for a small file read whole: refuses one larger than cap bytes
 * ("PATH: larger than CAP bytes"). buf gets a terminating NUL, so it needs
 * cap + 2 bytes. Returns 0, or -1 with err set. */
int fs_read_small(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen);

#endif
