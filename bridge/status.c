/* SPDX-License-Identifier: Apache-2.0 */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../roles/role.h"
#include "logline.h"

static int write_record(int fd, const char *rec, size_t len)
{
	ssize_t n;
	do
		n = write(fd, rec, len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int status_cannot_start(int fd, const char *fmt, ...)
{
	char text[ROLE_STATUS_RECORD_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n;
	bridge_error("cannot start: %s", text);
	if (fd < 0)
		return SPAWN_SETUP_FAILED;
	/* the supervisor buffers ROLE_STATUS_RECORD_MAX bytes a record */
	if (len > ROLE_STATUS_RECORD_MAX - 3)
		len = ROLE_STATUS_RECORD_MAX - 3;
	char rec[ROLE_STATUS_RECORD_MAX];
	rec[0] = STATUS_ERROR;
	rec[1] = (char)(len & 0xff);
	rec[2] = (char)(len >> 8);
	memcpy(rec + 3, text, len);
	if (write_record(fd, rec, 3 + len) < 0)
		bridge_error("status fd %d: cannot write the error record: %s", fd, strerror(errno));
	return SPAWN_SETUP_FAILED;
}

int status_ready(int fd)
{
	char c = ROLE_STATUS_READY;
	if (write_record(fd, &c, 1) < 0) {
		bridge_error("status fd %d: cannot write 'R': %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}
