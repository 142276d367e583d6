/* SPDX-License-Identifier: Apache-2.0 */
/* The INI files users write (topology.conf, a provider's policy), read one
 * way: a regular file of bounded size, fed to inih one line per call so
 * that every error names its line, and the first error kept.
 *
 * Why a reader of our own around inih: the packaged inih (Debian 12, r55)
 * is built without INI_HANDLER_LINENO, so its handler is never told its
 * line. Handing inih exactly one line per reader call makes the count of
 * calls the line being handled, and inih's own error line (which counts
 * reader calls) the same number. The reader also sees section headers
 * before inih does: inih calls the handler only for keys, so a section
 * without keys would otherwise go unseen. */
#ifndef MPBS_INI_FILE_H
#define MPBS_INI_FILE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct ini_file;

struct ini_file_ops {
	/* A "[...]" line (leading space and a byte order mark removed), before
	 * inih sees it. Returns 0, or -1 after ini_fail. */
	int (*header)(struct ini_file *f, void *ctx, const char *line);
	/* A "key = value" line. Returns 0, or -1 after ini_fail. */
	int (*key)(struct ini_file *f, void *ctx, const char *key, const char *value);
	/* What a syntax error says is expected, e.g.
	 * "expected '[policy]', 'key = value' or a comment". */
	const char *syntax_hint;
};

struct ini_file {
	const char *path;
	const char *name; /* the file in messages: path, unless the caller reads it
			   * through another path (a provider's policy in its sandbox) */
	int line;       /* the line being handled (1-based), 0 before the first */
	bool failed;
	int err_line;   /* the first error's line, 0 if it has none */
	char err[1024]; /* the first error, "PATH:LINE: [section] key: message" */
	/* the reader's state */
	const char *buf;
	size_t len, pos;
	const struct ini_file_ops *ops;
	void *ctx;
};

/* Starts f for path (no error yet, nothing read). */
void ini_file_init(struct ini_file *f, const char *path);

/* Reads path (a regular file of at most max_bytes) and hands its headers
 * and keys to ops. Returns 0, or -1 with f->err set. */
int ini_file_parse(struct ini_file *f, size_t max_bytes, const struct ini_file_ops *ops, void *ctx);

/* Records an error unless one is recorded already (later ones are usually
 * its consequences): "PATH:LINE: " for line > 0, "PATH: " for line 0, no
 * prefix for line < 0 (a message that names the file itself), then
 * "[section] " and "key: " where given. Returns -1. */
int ini_fail(struct ini_file *f, int line, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int ini_vfail(struct ini_file *f, int line, const char *section, const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

#endif
