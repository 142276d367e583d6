/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "append_only.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int append_only_set(int fd, bool append_only)
{
	int flags;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -1;
	flags = append_only ? (flags | FS_APPEND_FL) : (flags & ~FS_APPEND_FL);
	return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

bool append_only_is_set(int fd)
{
	int flags = 0;
	return ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_APPEND_FL);
}

int append_only_clear(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || append_only_set(fd, false) < 0) {
		snprintf(err, errlen, "clear append-only on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
