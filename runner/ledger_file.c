/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "ledger_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ledger_file_open(int dirfd, const char *name, const char *path, bool create, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO under that name must not hang the start (it is
	 * refused just after); it changes nothing for a regular file */
	int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (create ? O_CREAT | O_EXCL : 0);
	int fd = openat(dirfd, name, flags, LEDGER_FILE_MODE);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "ledger %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ledger %s: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* a created file gets its mode whatever the supervisor's umask */
	if (create && fchmod(fd, LEDGER_FILE_MODE) < 0) {
		int e = errno;
		snprintf(err, errlen, "ledger %s: chmod: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_RDWR | O_APPEND) < 0) {
		int e = errno;
		snprintf(err, errlen, "ledger %s: fcntl: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
