/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_whole(int fd, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	while (*len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int password_read(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	char buf[PASSWORD_MAX + 4];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "--password-file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *fail = fstat(fd, &st) < 0 ? strerror(errno)
			   : !S_ISREG(st.st_mode) ? "not a regular file"
			   : read_whole(fd, buf, sizeof(buf), &len) < 0 ? strerror(errno) : NULL;
	close(fd);
	if (fail) {
		snprintf(err, errlen, "--password-file %s: %s", path, fail);
		return -1;
	}
	size_t line = 0;
	while (line < len && buf[line] != '\n')
		line++;
	size_t after = line < len ? line + 1 : len;
	bool trailing = after < len && !(after + 1 == len && buf[after] == '\n');
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	const char *why = line == 0 ? "empty" : line > PASSWORD_MAX ? "longer than 1024 bytes"
			: memchr(buf, '\0', line) ? "holds a NUL byte" : trailing ? "more than one line" : NULL;
	if (why || line + 1 > cap) {
		snprintf(err, errlen, "--password-file %s: %s", path, why ? why : "too long");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, line);
	out[line] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
