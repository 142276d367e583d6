#define _GNU_SOURCE
#include "ledger_file.h"

#include "../roles/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int ledger_file_make_parents(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	return -1;
}

static int set_flags(int fd, bool append_only)
{
	int flags;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -1;
	flags = append_only ? (flags | FS_APPEND_FL) : (flags & ~FS_APPEND_FL);
	return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

/* Offset just past the last newline (0 if none). */
static off_t end_of_last_line(int fd, off_t size)
{
	char buf[4096];
	off_t pos = size;
	while (pos > 0) {
		size_t n = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
		if (pread(fd, buf, n, pos - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n')
				return pos - (off_t)n + (off_t)i;
		pos -= (off_t)n;
	}
	return 0;
}

/* A run killed mid-write (power cut, SIGKILL of the whole tree) can leave
 * one partial last line. It was never reported as confirmed (that happens
 * only after the fsync of whole lines), so it is cut before appending. */
static int truncate_partial_line(int fd, const char *path, off_t *cut, char *err, size_t errlen)
{
	struct stat st;
	char last;
	*cut = 0;
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1) {
		snprintf(err, errlen, "ledger %s: read: %s", path, strerror(errno));
		return -1;
	}
	if (last == '\n')
		return 0;
	off_t keep = end_of_last_line(fd, st.st_size);
	if (keep < 0 || (set_flags(fd, false) < 0 && errno != ENOTTY && errno != EOPNOTSUPP) ||
	    ftruncate(fd, keep) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "ledger %s: cut its partial last line: %s", path, strerror(errno));
		return -1;
	}
	*cut = st.st_size - keep;
	return 0;
}

int ledger_file_open(const char *path, bool *append_only, char *err, size_t errlen)
{
	if (ledger_file_make_parents(path, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "ledger %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ledger %s: not a regular file", path);
		close(fd);
		return -1;
	}
	off_t cut;
	if (truncate_partial_line(fd, path, &cut, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	if (cut)
		log_warn("ledger %s: cut a partial last line of %lld bytes left by an interrupted run", path,
			 (long long)cut);
	*append_only = set_flags(fd, true) == 0;
	return fd;
}

int ledger_file_clear_append_only(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || set_flags(fd, false) < 0) {
		snprintf(err, errlen, "clear append-only on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
