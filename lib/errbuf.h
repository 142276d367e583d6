/* SPDX-License-Identifier: Apache-2.0 */
/* Error messages for a caller's buffer: "FILE:LINE: [section] key: what
 * went wrong". Every parser of a file the user wrote (topology, provider
 * policy, seccomp policy) names the place through err_at, and no code keeps
 * a formatter of its own (a vsnprintf into an error buffer); a plain
 * message may still be one snprintf. Each returns -1, so a failure path
 * reads `return err_set(err, errlen, "...", ...);`. */
#ifndef MPBS_ERRBUF_H
#define MPBS_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Where an error is: each part is left out when unset (NULL, or line <= 0).
 * A section without a key is written "[section]: ". */
struct err_where {
	const char *file;
	int line;
	const char *section;
	const char *key;
};

int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_vset(char *err, size_t errlen, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

int err_at(char *err, size_t errlen, const struct err_where *w, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int err_vat(char *err, size_t errlen, const struct err_where *w, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
