/* SPDX-License-Identifier: Apache-2.0 */
/* The parse state's helpers that both the reader (topology.c) and the
 * whole-file checks (topology_check.c) use: errors that name where a value
 * came from, and a section's keys. */
#include "topology_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/errbuf.h"

int fail_at(struct parse *p, struct origin o, const struct section_state *s, const char *key, const char *fmt, ...)
{
	if (p->ini.failed)
		return -1;
	p->ini.failed = true;
	p->ini.err_line = o.line;
	char setting[256];
	struct err_where w = { 0 };
	if (o.line > 0) {
		w.file = p->t->path;
		w.line = o.line;
	} else if (o.override >= 0) {
		snprintf(setting, sizeof(setting), "--set %s", p->overrides[o.override]);
		w.file = setting;
	} else if (o.override == ORIGIN_NONE.override) {
		w.file = p->t->path;
	}
	if (o.override == -1) {
		w.section = s ? s->label : NULL;
		w.key = key;
	}
	va_list ap;
	va_start(ap, fmt);
	err_vat(p->ini.err, sizeof(p->ini.err), &w, fmt, ap);
	va_end(ap);
	return -1;
}

struct origin line_origin(int line)
{
	return (struct origin){ line, -1 };
}

int find_key(const struct section_state *s, const char *key)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i]->name, key) == 0)
			return (int)i;
	return -1;
}

struct origin origin_of(const struct section_state *s, const char *key)
{
	struct origin o = s->at[find_key(s, key)];
	return (o.line > 0 || o.override >= 0) ? o : line_origin(s->line);
}
