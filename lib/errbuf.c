/* SPDX-License-Identifier: Apache-2.0 */
#include "errbuf.h"

#include <stdio.h>

int err_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return -1;
}

int err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends text at *used, never past len. */
static void append(char *err, size_t len, size_t *used, const char *text)
{
	if (*used >= len)
		return;
	int w = snprintf(err + *used, len - *used, "%s", text);
	if (w > 0)
		*used += (size_t)w;
}

int err_vat(char *err, size_t errlen, const struct err_where *w, const char *fmt, va_list ap)
{
	size_t used = 0;
	if (errlen == 0)
		return -1;
	err[0] = '\0';
	char num[16];
	if (w->file) {
		append(err, errlen, &used, w->file);
		if (w->line > 0) {
			snprintf(num, sizeof(num), ":%d", w->line);
			append(err, errlen, &used, num);
		}
		append(err, errlen, &used, ": ");
	}
	if (w->section) {
		append(err, errlen, &used, "[");
		append(err, errlen, &used, w->section);
		append(err, errlen, &used, w->key ? "] " : "]: ");
	}
	if (w->key) {
		append(err, errlen, &used, w->key);
		append(err, errlen, &used, ": ");
	}
	if (used < errlen)
		vsnprintf(err + used, errlen - used, fmt, ap);
	return -1;
}

int err_at(char *err, size_t errlen, const struct err_where *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vat(err, errlen, w, fmt, ap);
	va_end(ap);
	return -1;
}
