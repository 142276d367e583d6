/* SPDX-License-Identifier: Apache-2.0 */
/* Reference text generated from the tables that define it (topology keys,
 * rlimits, provider policy keys), written either as Markdown (the README,
 * docs/) or as scdoc (the man pages, docs/man/). Row docs are written once,
 * in Markdown's inline form (`code`, **strong**); this is the one place that
 * turns them into scdoc, and the one place that knows either table syntax. */
#ifndef MPBS_DOC_TEXT_H
#define MPBS_DOC_TEXT_H

#include <stddef.h>
#include <stdio.h>

enum doc_format { DOC_MARKDOWN, DOC_SCDOC };

/* text as it stands in a Markdown cell; for scdoc: `x` and **x** become
 * bold, and what scdoc would read as markup (*, _, \) is escaped. */
void doc_inline(FILE *f, enum doc_format fmt, const char *text);

/* A table: its header row of n column titles, then rows of cells. Markdown
 * tables as GitHub renders them, scdoc tables boxed (tbl wraps long cells). */
void doc_table_head(FILE *f, enum doc_format fmt, const char *const *titles, size_t n);
/* A row's first cell (written as code); doc_table_cell for each next one. */
void doc_table_row(FILE *f, enum doc_format fmt, const char *label);
void doc_table_cell(FILE *f, enum doc_format fmt, const char *text);
void doc_table_row_end(FILE *f, enum doc_format fmt);

/* One entry of a key list (scdoc only): "*name* = VALUE (DEFAULT)" then the
 * doc, indented. value and dflt may be NULL. */
void doc_key_entry(FILE *f, const char *name, const char *value, const char *dflt, const char *doc);

/* 0 when everything written to f reached it, else -1. */
int doc_flush(FILE *f);

#endif
