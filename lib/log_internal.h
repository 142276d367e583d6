/* SPDX-License-Identifier: Apache-2.0 */
/* One log line on its way out, as lib/log.c hands it to the journal's
 * writer (lib/log_journal.c). Nothing else includes this. */
#ifndef MPBS_LOG_INTERNAL_H
#define MPBS_LOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct log_record {
	enum log_severity sev;
	const char *who;     /* the process that writes the log: "mpbs-run" */
	const char *role;    /* a role's line: the role's label; NULL for the process's own */
	long pid;            /* a role's line: the role's pid (0: unknown) */
	const char *event;   /* NULL: none */
	const uint8_t *text; /* the message, text[0, len): a role's bytes, escaped in every form */
	size_t len;
	const char *note;    /* appended to the message as it is ("" for none) */
};

/* The severity's name ("error", ...) and its syslog priority. */
const char *log_severity_name(enum log_severity sev);
int log_severity_priority(enum log_severity sev);

/* The message of r into out (NUL-terminated, cut at a whole byte to fit
 * cap): a role's text escaped always (log_escape); the process's own text
 * as it is, escaped only for json. Returns its length. */
size_t log_record_body(const struct log_record *r, bool json, char *out, size_t cap);

/* Sends r to the journal with its fields, building MESSAGE in buf (cap
 * bytes). Returns 0, or -1 when the journal did not take it. */
int log_journal_send(const struct log_record *r, char *buf, size_t cap);

#endif
