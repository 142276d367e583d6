/* SPDX-License-Identifier: Apache-2.0 */
/* Small file-system chores that the supervisor and the roles both need,
 * written once. */
#ifndef MPBS_FSUTIL_H
#define MPBS_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>

/* mkdir -p of path's parent directories (not of path itself), mode 0755:
 * traversable by the roles' host uids. Returns 0, or -1 with err set. */
int fs_mkdir_parents(const char *path, char *err, size_t errlen);

/* Opens path read-only, O_NONBLOCK: a FIFO in its place cannot block the
 * open (the caller checks what it got before reading). Returns the fd, or
 * -1 with err set ("open PATH: ...") and errno as open(2) left it. */
int fs_open_read(const char *path, char *err, size_t errlen);

/* fs_open_read, then refuses anything but a regular file, and fills *st.
 * Returns the fd, or -1 with err set ("open PATH: ...", "PATH: not a
 * regular file"). */
int fs_open_regular(const char *path, struct stat *st, char *err, size_t errlen);

/* fs_open_regular for a file the supervisor trusts (a password, a private
 * key): O_NOFOLLOW, so a symbolic link in its place is refused ("PATH: a
 * symbolic link ..."), and owned by root or the caller's effective uid
 * ("PATH: owned by uid N, ..."): a file another user owns could be that
 * user's choice of content. Returns the fd, or -1 with err set. */
int fs_open_owned(const char *path, struct stat *st, char *err, size_t errlen);

/* Reads fd to its end or to cap + 1 bytes, whichever comes first: *len is
 * cap + 1 when the file holds more than cap. Returns 0, or -1 with err set
 * ("read PATH: ..."). */
int fs_read_upto(int fd, const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen);

/* Both, for a small file read whole: refuses one larger than cap bytes
 * ("PATH: larger than CAP bytes"). buf gets a terminating NUL, so it needs
 * cap + 2 bytes. Returns 0, or -1 with err set. */
int fs_read_small(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen);

/* Writes all of buf to fd, again after a short write or EINTR. Returns 0,
 * or -1 with errno set (EIO when write(2) takes nothing: it never will). */
int fs_write_all(int fd, const void *buf, size_t len);

/* fsync(2) of the directory holding path (dirname(3): "." for a bare name,
 * the parent of "a/b/" is "a"), so a name just created there outlives a
 * power cut. Returns 0, or -1 with err set ("open DIR: ...", "fsync DIR:
 * ...") and errno as the failing call left it; err may be NULL with errlen
 * 0 for a caller that words the failure itself. */
int fs_fsync_parent(const char *path, char *err, size_t errlen);

/* "dir/name" in a fresh string (the caller frees it), NULL when out of
 * memory. The _n form joins dir's first dir_len bytes. */
char *fs_path_join(const char *dir, const char *name);
char *fs_path_join_n(const char *dir, size_t dir_len, const char *name);

/* Closes *fd if it is open and marks it closed (-1), so a release path may
 * run over a half-built struct. */
void fs_close(int *fd);

#endif
