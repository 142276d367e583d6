/* SPDX-License-Identifier: Apache-2.0 */
#include "doc_text.h"

#include <string.h>

/* scdoc reads *, _ and \ as markup anywhere in a line. */
static void scdoc_plain(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '*' || s[i] == '_' || s[i] == '\\')
			fputc('\\', f);
		fputc(s[i], f);
	}
}

void doc_inline(FILE *f, enum doc_format fmt, const char *text)
{
	if (fmt == DOC_MARKDOWN) {
		fputs(text, f);
		return;
	}
	const char *s = text;
	while (*s) {
		const char *open = strpbrk(s, "`*");
		if (open == NULL) {
			scdoc_plain(f, s, strlen(s));
			return;
		}
		const char *delim = *open == '`' ? "`" : open[1] == '*' ? "**" : NULL;
		const char *inner = delim ? open + strlen(delim) : NULL;
		const char *end = inner ? strstr(inner, delim) : NULL;
		if (end == NULL || end == inner) { /* a lone '*' or '`': plain text */
			scdoc_plain(f, s, (size_t)(open - s) + 1);
			s = open + 1;
			continue;
		}
		scdoc_plain(f, s, (size_t)(open - s));
		fputc('*', f);
		scdoc_plain(f, inner, (size_t)(end - inner));
		fputc('*', f);
		s = end + strlen(delim);
	}
}

void doc_table_head(FILE *f, enum doc_format fmt, const char *const *titles, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fmt == DOC_MARKDOWN)
			fprintf(f, "%s %s", i ? " |" : "|", titles[i]);
		else
			fprintf(f, "%s *%s*\n", i ? ":[" : "[[", titles[i]);
	}
	if (fmt == DOC_MARKDOWN) {
		fputs(" |\n|", f);
		for (size_t i = 0; i < n; i++)
			fputs("---|", f);
		fputc('\n', f);
	}
}

void doc_table_row(FILE *f, enum doc_format fmt, const char *label)
{
	if (fmt == DOC_MARKDOWN) {
		fprintf(f, "| `%s` |", label);
		return;
	}
	fputs("|[ *", f);
	scdoc_plain(f, label, strlen(label));
	fputs("*\n", f);
}

void doc_table_cell(FILE *f, enum doc_format fmt, const char *text)
{
	fputs(fmt == DOC_MARKDOWN ? " " : ":[ ", f);
	doc_inline(f, fmt, text);
	fputs(fmt == DOC_MARKDOWN ? " |" : "\n", f);
}

void doc_table_row_end(FILE *f, enum doc_format fmt)
{
	if (fmt == DOC_MARKDOWN)
		fputc('\n', f);
}

void doc_key_entry(FILE *f, const char *name, const char *value, const char *dflt, const char *doc)
{
	fputc('*', f);
	scdoc_plain(f, name, strlen(name));
	fputc('*', f);
	if (value) {
		fputs(" = ", f);
		doc_inline(f, DOC_SCDOC, value);
	}
	if (dflt) {
		fputs(" (", f);
		doc_inline(f, DOC_SCDOC, dflt);
		fputc(')', f);
	}
	fputs("\n\t", f);
	doc_inline(f, DOC_SCDOC, doc);
	fputs("\n\n", f);
}

int doc_flush(FILE *f)
{
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
