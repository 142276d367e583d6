/* SPDX-License-Identifier: Apache-2.0 */
/* Logging shared by every process: one line per event, one write(2) per
 * line, a level that says which lines are written, and the format of the
 * supervisor's log.
 *
 * The supervisor's own lines go to its stderr, in one of three forms:
 *   text     "2026-11-30T09:15:02.123Z mpbs-run: info: ready: ..." (RFC 3339,
 *            UTC, milliseconds), the level always named;
 *   json     one object a line: ts, level, who (or role), pid, event when
 *            the line has one, msg;
 *   journald when stderr is the stream systemd connected to the journal
 *            (JOURNAL_STREAM names its device and inode) and the format is
 *            text: no time stamp (the journal keeps one), fields MESSAGE,
 *            PRIORITY, SYSLOG_IDENTIFIER, MPBS_EVENT, MPBS_ROLE and
 *            MPBS_ROLE_PID through sd_journal_sendv.
 * A role writes plain "LEVEL: text" lines to its own log pipe (it is
 * sandboxed and reaches no journal); the supervisor reads them
 * (runner/role_log.c) and writes each in its own format, labelled with the
 * role and its text escaped (log_role_line), so no role writes a line that
 * passes for the supervisor's. A role is a clone of the supervisor, not an
 * exec: it keeps the level the supervisor set, and nothing is passed. */
#ifndef MPBS_LOG_H
#define MPBS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which lines are written: errors only; errors, warnings and information
 * (no line per operation); and per-operation detail; and debugging. */
#define LOG_LEVEL_QUIET 0
#define LOG_LEVEL_DEFAULT 1
#define LOG_LEVEL_VERBOSE 2
#define LOG_LEVEL_DEBUG 3

/* How grave one line is. A line is written when the level is at least its
 * severity's threshold (error 0, warning and info 1, verbose 2, debug 3). */
enum log_severity { LOG_SEV_ERROR, LOG_SEV_WARNING, LOG_SEV_INFO, LOG_SEV_VERBOSE, LOG_SEV_DEBUG, LOG_SEV_COUNT };

/* Sets the name of the process's own lines ("mpbs-run") and, for a
 * non-empty name outside a role, looks whether stderr is the journal's
 * stream. The string is copied. */
void log_init(const char *who);

/* In a role, first: plain "LEVEL: text" lines on fd 2 (after the name
 * given to log_init, if any), no time stamp, whatever the format: the
 * supervisor formats them. */
void log_as_role(void);

/* LOG_LEVEL_QUIET .. LOG_LEVEL_DEBUG; a value outside is clamped. */
void log_set_level(int level);
int log_level(void);
/* "text" or "json"; returns 0, or -1 for any other name (nothing changes). */
int log_set_format(const char *name);
/* Whether a line of that severity is written at the current level. */
bool log_enabled(enum log_severity sev);
/* Whether this process's own lines go to the journal (log_init found its
 * stream on stderr and the format is text). */
bool log_to_journal(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Per-operation detail: written from LOG_LEVEL_VERBOSE on. */
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error with ": strerror(errno)" appended; errno is preserved. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line that names its event (a short word: "ready", "role-exit"), which
 * the json and journald forms carry as a field (event, MPBS_EVENT). */
void log_event(enum log_severity sev, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line a role wrote, passed on by the supervisor: text[0, len) as read
 * from the role (any byte), note appended after it ("" for none). A
 * leading "LEVEL: " is taken as its severity (info when there is none);
 * a line below the level is dropped. Written to fd (journald aside) as
 * "TIME LABEL: LEVEL: TEXT" or a json object with "role" and "pid" (0:
 * left out), every control, non-ASCII and backslash byte of the text
 * escaped (log_escape). buf (cap bytes, LOG_ROLE_LINE_BUF(len) is enough)
 * holds the line on its way: the caller keeps it where no role inherits it. */
void log_role_line(const char *label, long pid, const uint8_t *text, size_t len, const char *note, int fd, char *buf,
		   size_t cap);
#define LOG_ROLE_LINE_BUF(len) (5 * (size_t)(len) + 512)

/* Escapes in[0..n) into out (NUL-terminated, cut at a whole byte to fit
 * cap): printable ASCII stays, a backslash is doubled, \n \r \t are written
 * as such, any other byte as \xHH. With json, the result is also fit to
 * stand inside a JSON string (its backslashes and quotes escaped once
 * more), so it reads back as the same text. Returns the length written. */
size_t log_escape(const uint8_t *in, size_t n, char *out, size_t cap, bool json);

/* Whether JOURNAL_STREAM's value ("DEVICE:INODE", decimal) names the file
 * open on fd, as systemd documents for a service's stderr. */
bool log_journal_stream_matches(const char *value, int fd);

#endif
