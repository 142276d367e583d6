/* SPDX-License-Identifier: Apache-2.0 */
#include "ini_file.h"

#include <ctype.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"

void ini_file_init(struct ini_file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->name = path;
}

int ini_vfail(struct ini_file *f, int line, const char *section, const char *key, const char *fmt, va_list ap)
{
	if (f->failed)
		return -1;
	f->failed = true;
	f->err_line = line > 0 ? line : 0;
	struct err_where w = { .file = line >= 0 ? f->name : NULL, .line = line, .section = section, .key = key };
	return err_vat(f->err, sizeof(f->err), &w, fmt, ap);
}

int ini_fail(struct ini_file *f, int line, const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ini_vfail(f, line, section, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* inih's reader: one line of the file per call, without its leading
 * whitespace (these formats have no continuation lines, and inih would
 * otherwise join an indented line to the key above it). */
static char *next_line(char *str, int num, void *stream)
{
	struct ini_file *f = stream;
	if (f->failed || f->pos >= f->len)
		return NULL;
	const char *start = f->buf + f->pos;
	const char *nl = memchr(start, '\n', f->len - f->pos);
	size_t n = nl ? (size_t)(nl - start) + 1 : f->len - f->pos;
	size_t content = nl ? n - 1 : n;
	f->pos += n;
	f->line++;
	size_t skip = 0;
	if (f->line == 1 && content >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0)
		skip = 3; /* a UTF-8 byte order mark, as inih allows */
	while (skip < content && isspace((unsigned char)start[skip]))
		skip++;
	/* inih takes a buffer-filling line for an overlong one and swallows the
	 * next, so a line must leave room for its newline and the terminator. */
	if (content - skip > (size_t)num - 2) {
		ini_fail(f, f->line, NULL, NULL, "line longer than %d bytes", num - 2);
		return NULL;
	}
	if (memchr(start, '\0', content) != NULL) {
		ini_fail(f, f->line, NULL, NULL, "NUL byte in line");
		return NULL;
	}
	memcpy(str, start + skip, content - skip);
	str[content - skip] = '\n';
	str[content - skip + 1] = '\0';
	if (str[0] == '[' && f->ops->header(f, f->ctx, str) < 0)
		return NULL;
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_file *f = user;
	(void)section; /* the reader sees every header: see ops->header */
	if (f->failed)
		return 0;
	return f->ops->key(f, f->ctx, name, value) == 0;
}

static int read_whole(struct ini_file *f, size_t max_bytes, char **out)
{
	char why[sizeof(f->err)];
	char *data = malloc(max_bytes + 2);
	if (data == NULL)
		return ini_fail(f, 0, NULL, NULL, "out of memory");
	if (fs_read_small(f->path, data, max_bytes, &f->len, why, sizeof(why)) < 0) {
		free(data);
		return ini_fail(f, -1, NULL, NULL, "%s", why);
	}
	*out = data;
	return 0;
}

int ini_file_parse(struct ini_file *f, size_t max_bytes, const struct ini_file_ops *ops, void *ctx)
{
	char *data = NULL;
	if (read_whole(f, max_bytes, &data) < 0)
		return -1;
	f->buf = data;
	f->pos = 0;
	f->ops = ops;
	f->ctx = ctx;
	int r = ini_parse_stream(next_line, f, on_key, f);
	free(data);
	f->buf = NULL;
	/* inih keeps going after a syntax error and returns the first error
	 * line, ours included (a refusing handler marks its own line): an
	 * earlier syntax error replaces ours. */
	if (r > 0 && (!f->failed || r < f->err_line)) {
		f->failed = false;
		return ini_fail(f, r, NULL, NULL, "syntax error: %s", ops->syntax_hint);
	}
	if (r < 0 && !f->failed)
		return ini_fail(f, 0, NULL, NULL, "inih failed (%d)", r);
	return f->failed ? -1 : 0;
}
