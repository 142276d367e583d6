/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

int fs_mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return err_set(err, errlen, "%s: path too long", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		*p = '/';
	}
	return 0;
}

static int open_read(const char *path, int extra, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra);
	if (fd < 0) {
		int saved = errno;
		if (saved == ELOOP && (extra & O_NOFOLLOW))
			err_set(err, errlen, "%s: a symbolic link (refused: name the file itself)", path);
		else
			err_set(err, errlen, "open %s: %s", path, strerror(saved));
		errno = saved;
	}
	return fd;
}

int fs_open_read(const char *path, char *err, size_t errlen)
{
	return open_read(path, 0, err, errlen);
}

static int open_regular(const char *path, int extra, struct stat *st, char *err, size_t errlen)
{
	int fd = open_read(path, extra, err, errlen);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return err_set(err, errlen, "%s: not a regular file", path);
	}
	return fd;
}

int fs_open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	return open_regular(path, 0, st, err, errlen);
}

int fs_open_owned(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd = open_regular(path, O_NOFOLLOW, st, err, errlen);
	if (fd < 0)
		return -1;
	uid_t me = geteuid();
	if (st->st_uid != 0 && st->st_uid != me) {
		close(fd);
		return err_set(err, errlen, "%s: owned by uid %u, neither root nor this process's uid (%u): chown it",
			       path, (unsigned)st->st_uid, (unsigned)me);
	}
	if (st->st_nlink != 1) { /* another name of someone else's file */
		close(fd);
		return err_set(err, errlen, "%s: %lu hard links: a credential file has one name", path,
			       (unsigned long)st->st_nlink);
	}
	return fd;
}

int fs_read_upto(int fd, const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	size_t n = 0;
	int rc = 0;
	while (n <= cap) {
		ssize_t r = read(fd, buf + n, cap + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = err_set(err, errlen, "read %s: %s", path, strerror(errno));
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return rc;
}

int fs_read_small(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = fs_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	int rc = fs_read_upto(fd, path, buf, cap, len, err, errlen);
	close(fd);
	if (rc == 0 && *len > cap)
		rc = err_set(err, errlen, "%s: larger than %zu bytes", path, cap);
	buf[rc == 0 ? *len : 0] = '\0';
	return rc;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_fsync_parent(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return err_set(err, errlen, "%s: out of memory", path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0, saved = 0;
	if (fd < 0 || fsync(fd) < 0) {
		saved = errno;
		rc = err_set(err, errlen, "%s %s: %s", fd < 0 ? "open" : "fsync", dir, strerror(saved));
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	if (rc < 0)
		errno = saved;
	return rc;
}

char *fs_path_join_n(const char *dir, size_t dir_len, const char *name)
{
	char *out = NULL;
	if (dir_len > INT_MAX || asprintf(&out, "%.*s/%s", (int)dir_len, dir, name) < 0)
		return NULL;
	return out;
}

char *fs_path_join(const char *dir, const char *name)
{
	return fs_path_join_n(dir, strlen(dir), name);
}

void fs_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
