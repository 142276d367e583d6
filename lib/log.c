/* SPDX-License-Identifier: Apache-2.0 */
/* The log's level, its formats and its lines (log.h); the journal's side
 * is lib/log_journal.c. */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log_internal.h"

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

static struct {
	char who[64];
	int level;
	enum log_format format;
	bool role;    /* log_as_role: plain lines for the supervisor to format */
	bool journal; /* stderr is the journal's stream (log_init) */
	long pid;
} log_state = { .who = "mpbs-run", .level = LOG_LEVEL_DEFAULT };

static const struct {
	const char *name;
	int priority;  /* syslog's, for the journal */
	int threshold; /* the lowest level that writes it */
} severities[LOG_SEV_COUNT] = {
	[LOG_SEV_ERROR] = { "error", LOG_ERR, LOG_LEVEL_QUIET },
	[LOG_SEV_WARNING] = { "warning", LOG_WARNING, LOG_LEVEL_DEFAULT },
	[LOG_SEV_INFO] = { "info", LOG_INFO, LOG_LEVEL_DEFAULT },
	/* asked for with -v: information, not the developer's debugging */
	[LOG_SEV_VERBOSE] = { "verbose", LOG_INFO, LOG_LEVEL_VERBOSE },
	[LOG_SEV_DEBUG] = { "debug", LOG_DEBUG, LOG_LEVEL_DEBUG },
};

void log_init(const char *who)
{
	snprintf(log_state.who, sizeof(log_state.who), "%s", who);
	if (*who && !log_state.role) {
		log_state.journal = log_journal_stream_matches(getenv("JOURNAL_STREAM"), 2);
		log_state.pid = (long)getpid();
	}
}

void log_as_role(void)
{
	log_state.role = true;
	log_state.journal = false;
	log_state.format = LOG_FORMAT_TEXT;
}

void log_set_level(int level)
{
	log_state.level = level < LOG_LEVEL_QUIET ? LOG_LEVEL_QUIET : level > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : level;
}

int log_level(void)
{
	return log_state.level;
}

int log_set_format(const char *name)
{
	if (strcmp(name, "text") == 0)
		log_state.format = LOG_FORMAT_TEXT;
	else if (strcmp(name, "json") == 0)
		log_state.format = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

bool log_enabled(enum log_severity sev)
{
	return (unsigned)sev < LOG_SEV_COUNT && severities[sev].threshold <= log_state.level;
}

/* An explicit --log-format=json stays json under the journal too: whoever
 * asked for it reads stderr with a json reader. */
bool log_to_journal(void)
{
	return log_state.journal && !log_state.role && log_state.format == LOG_FORMAT_TEXT;
}

const char *log_severity_name(enum log_severity sev)
{
	return severities[(unsigned)sev < LOG_SEV_COUNT ? sev : LOG_SEV_ERROR].name;
}

int log_severity_priority(enum log_severity sev)
{
	return severities[(unsigned)sev < LOG_SEV_COUNT ? sev : LOG_SEV_ERROR].priority;
}

size_t log_escape(const uint8_t *in, size_t n, char *out, size_t cap, bool json)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char esc[5] = { 0 }, piece[10];
		uint8_t b = in[i];
		if (b == '\\' || b == '\n' || b == '\r' || b == '\t') {
			esc[0] = '\\';
			esc[1] = b == '\\' ? '\\' : b == '\n' ? 'n' : b == '\r' ? 'r' : 't';
		} else if (b < 0x20 || b >= 0x7f) {
			memcpy(esc, (char[]){ '\\', 'x', hex[b >> 4], hex[b & 15] }, 4);
		} else {
			esc[0] = (char)b;
		}
		size_t el = 0;
		for (const char *c = esc; *c; c++) {
			if (json && (*c == '\\' || *c == '"'))
				piece[el++] = '\\';
			piece[el++] = *c;
		}
		if (o + el >= cap)
			break;
		memcpy(out + o, piece, el);
		o += el;
	}
	out[o] = '\0';
	return o;
}

/* The message of r into out (NUL-terminated, cut to fit cap): a role's
 * text escaped always; the process's own text as it is, but in json. */
size_t log_record_body(const struct log_record *r, bool json, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	if (r->role || json)
		return log_escape(r->text, r->len, out, cap, json);
	size_t n = r->len < cap - 1 ? r->len : cap - 1;
	memcpy(out, r->text, n);
	out[n] = '\0';
	return n;
}

/* RFC 3339 in UTC with milliseconds: "2026-11-30T09:15:02.123Z". UTC needs
 * no time zone file and reads the same on every host. */
static void format_time(char out[64])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* head, then the body cut so that tail still fits, then tail; returns the
 * length (buf is NUL-terminated). */
static size_t assemble(char *buf, size_t cap, int head, const struct log_record *r, bool json, const char *tail)
{
	size_t tl = strlen(tail);
	if (head < 0 || (size_t)head + tl + 1 >= cap)
		return 0;
	size_t len = (size_t)head + log_record_body(r, json, buf + head, cap - (size_t)head - tl);
	memcpy(buf + len, tail, tl + 1);
	return len + tl;
}

static size_t render_text(const struct log_record *r, bool stamp, char *buf, size_t cap)
{
	char ts[64] = "", tail[160];
	const char *name = r->role ? r->role : r->who;
	if (stamp)
		format_time(ts);
	int head = snprintf(buf, cap, "%s%s%s%s%s: ", ts, stamp ? " " : "", name, *name ? ": " : "",
			    log_severity_name(r->sev));
	snprintf(tail, sizeof(tail), "%s\n", r->note);
	return assemble(buf, cap, head, r, false, tail);
}

static size_t render_json(const struct log_record *r, char *buf, size_t cap)
{
	char ts[64], name[160], event[96] = "", pid[32] = "", note[200], tail[220];
	const char *n = r->role ? r->role : r->who;
	long p = r->role ? r->pid : log_state.pid;
	format_time(ts);
	log_escape((const uint8_t *)n, strlen(n), name, sizeof(name), true);
	if (r->event) {
		char e[64];
		log_escape((const uint8_t *)r->event, strlen(r->event), e, sizeof(e), true);
		snprintf(event, sizeof(event), ",\"event\":\"%s\"", e);
	}
	if (p > 0)
		snprintf(pid, sizeof(pid), ",\"pid\":%ld", p);
	int head = snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"%s\":\"%s\"%s%s,\"msg\":\"", ts,
			    log_severity_name(r->sev), r->role ? "role" : "who", name, pid, event);
	log_escape((const uint8_t *)r->note, strlen(r->note), note, sizeof(note), true);
	snprintf(tail, sizeof(tail), "%s\"}\n", note);
	return assemble(buf, cap, head, r, true, tail);
}

static void emit(const struct log_record *r, int fd, char *buf, size_t cap)
{
	bool stamp = true;
	if (log_to_journal()) {
		if (log_journal_send(r, buf, cap) == 0)
			return;
		stamp = false; /* stderr is the journal's stream still, and it stamps */
	}
	size_t n = log_state.format == LOG_FORMAT_JSON ? render_json(r, buf, cap) : render_text(r, stamp, buf, cap);
	/* One write(2) per line, so lines of the supervisor and of every role
	 * never interleave within a line. A failure means the log is gone:
	 * nowhere left to report it. */
	(void)fs_write_all(fd, buf, n);
}

#define LOG_MSG_MAX 1024

/* A role's own line, for the supervisor: "[WHO: ]LEVEL: text\n" in one
 * write(2), so lines of concurrent roles do not interleave and one write is
 * one record of its log pipe. snprintf and write, not dprintf, whose
 * stream setup seeks fd 2 (lseek is not in every role's seccomp policy). */
static void write_plain(enum log_severity sev, const char *msg)
{
	char line[LOG_MSG_MAX + 128];
	int n = snprintf(line, sizeof(line), "%s%s%s: %s\n", log_state.who, *log_state.who ? ": " : "",
			 log_severity_name(sev), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)fs_write_all(2, line, (size_t)n);
}

static void log_line(enum log_severity sev, const char *event, const char *suffix, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];
	if (!log_enabled(sev))
		return;
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	if (suffix)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, ": %s", suffix);
	len = len < sizeof(msg) ? len : sizeof(msg) - 1;
	if (log_state.role) {
		write_plain(sev, msg);
		return;
	}
	char buf[LOG_ROLE_LINE_BUF(LOG_MSG_MAX)];
	struct log_record r = { .sev = sev, .who = log_state.who, .event = event, .text = (const uint8_t *)msg,
				.len = len, .note = "" };
	emit(&r, 2, buf, sizeof(buf));
}

#define LOG_FN(name, sev)                               \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_line(sev, NULL, NULL, fmt, ap);     \
		va_end(ap);                             \
	}

LOG_FN(log_error, LOG_SEV_ERROR)
LOG_FN(log_warn, LOG_SEV_WARNING)
LOG_FN(log_info, LOG_SEV_INFO)
LOG_FN(log_verbose, LOG_SEV_VERBOSE)
LOG_FN(log_debug, LOG_SEV_DEBUG)

void log_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_SEV_ERROR, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_event(enum log_severity sev, const char *event, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(sev, event, NULL, fmt, ap);
	va_end(ap);
}

/* A role's own "LEVEL: " at the start of its line, taken off; info when
 * there is none. The role chooses how grave its own line reads, never whose
 * line it is. */
static enum log_severity take_severity(const uint8_t **text, size_t *len)
{
	for (int s = 0; s < LOG_SEV_COUNT; s++) {
		size_t nl = strlen(severities[s].name);
		if (*len >= nl + 2 && memcmp(*text, severities[s].name, nl) == 0 && (*text)[nl] == ':' &&
		    (*text)[nl + 1] == ' ') {
			*text += nl + 2;
			*len -= nl + 2;
			return (enum log_severity)s;
		}
	}
	return LOG_SEV_INFO;
}

void log_role_line(const char *label, long pid, const uint8_t *text, size_t len, const char *note, int fd, char *buf,
		   size_t cap)
{
	enum log_severity sev = take_severity(&text, &len);
	if (!log_enabled(sev))
		return;
	struct log_record r = { .sev = sev, .who = log_state.who, .role = label, .pid = pid, .text = text,
				.len = len, .note = note };
	emit(&r, fd, buf, cap);
}
