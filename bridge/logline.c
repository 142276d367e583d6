/* SPDX-License-Identifier: Apache-2.0 */
#include "logline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Longer lines are cut: the supervisor reads a line at a time and one
 * write(2) to a pipe is atomic up to PIPE_BUF only. */
#define LOG_LINE_MAX 1024

void log_line(const char *level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int head = snprintf(line, sizeof(line), "%s: ", level);
	if (head < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int body = vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap);
	va_end(ap);
	size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* one line per record: a newline inside the text would start a
	 * line the supervisor takes for another record */
	for (size_t i = (size_t)head; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t n;
	do
		n = write(2, line, len);
	while (n < 0 && errno == EINTR);
	errno = saved;
}
