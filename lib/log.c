/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char log_prefix[64] = "mpbs-run";

void log_init(const char *who)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", who);
}

static void log_line(const char *level, const char *suffix, const char *fmt, va_list ap)
{
	char msg[1024], line[1200];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One write per line so lines of concurrent roles do not interleave;
	 * snprintf and write, not dprintf, whose stream setup seeks fd 2
	 * (lseek is not in every role's seccomp policy). */
	int n = snprintf(line, sizeof(line), "%s%s%s%s%s%s\n", log_prefix, *log_prefix ? ": " : "", level, msg,
			 suffix ? ": " : "", suffix ? suffix : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

#define LOG_FN(name, level)                      \
	void name(const char *fmt, ...)          \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		log_line(level, NULL, fmt, ap);  \
		va_end(ap);                      \
	}

LOG_FN(log_info, "")
LOG_FN(log_warn, "warning: ")
LOG_FN(log_error, "error: ")

void log_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_line("error: ", strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
