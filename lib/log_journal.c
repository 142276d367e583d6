/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's side of the log (log.h): whether stderr is the journal's
 * stream, and a line sent with its fields through libsystemd. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* no CODE_FILE, CODE_LINE, CODE_FUNC: they would all name this file */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log_internal.h"

/* One decimal number ending at stop; 0, or -1. strtoull alone would take
 * blanks and a sign. */
static int parse_decimal(const char *s, char stop, unsigned long long *v, const char **end)
{
	char *e;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno || *e != stop)
		return -1;
	*end = e;
	return 0;
}

bool log_journal_stream_matches(const char *value, int fd)
{
	unsigned long long dev, ino;
	const char *at;
	struct stat st;
	if (!value || parse_decimal(value, ':', &dev, &at) < 0 || parse_decimal(at + 1, '\0', &ino, &at) < 0)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* sd_journal_sendv and not sd_journal_send: the printf form formats each
 * field into the heap, and a role's text must not outlive its line where
 * a later clone of the supervisor would find it (runner/forkwipe.h); the
 * fields here live in buf (the caller's) and on the stack. */
int log_journal_send(const struct log_record *r, char *buf, size_t cap)
{
	char priority[32], ident[96], event[96], role[128], pid[48];
	struct iovec iov[6];
	int n = 0;
	size_t tl = strlen(r->note);
	int head = snprintf(buf, cap, "MESSAGE=%s%s", r->role ? r->role : "", r->role ? ": " : "");
	if (head < 0 || (size_t)head + tl + 1 >= cap)
		return -1;
	size_t len = (size_t)head + log_record_body(r, false, buf + head, cap - (size_t)head - tl);
	memcpy(buf + len, r->note, tl + 1);
	iov[n++] = (struct iovec){ buf, len + tl };
	snprintf(priority, sizeof(priority), "PRIORITY=%d", log_severity_priority(r->sev));
	iov[n++] = (struct iovec){ priority, strlen(priority) };
	/* A role's line has an identifier of its own ("mpbs-provider-A"), which
	 * no text of the role can change: what journalctl shows first tells
	 * the supervisor's lines ("mpbs-run") from a role's, also where a
	 * supervisor line about a role starts with that role's label. */
	int il = r->role ? snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=mpbs-%s", r->role)
			 : snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", r->who);
	if (il < 0 || (size_t)il >= sizeof(ident))
		return -1;
	for (char *c = ident + strlen("SYSLOG_IDENTIFIER="); *c; c++)
		if (*c == ' ')
			*c = '-';
	iov[n++] = (struct iovec){ ident, (size_t)il };
	if (r->event) {
		snprintf(event, sizeof(event), "MPBS_EVENT=%s", r->event);
		iov[n++] = (struct iovec){ event, strlen(event) };
	}
	if (r->role) {
		snprintf(role, sizeof(role), "MPBS_ROLE=%s", r->role);
		iov[n++] = (struct iovec){ role, strlen(role) };
		if (r->pid > 0) {
			snprintf(pid, sizeof(pid), "MPBS_ROLE_PID=%ld", r->pid);
			iov[n++] = (struct iovec){ pid, strlen(pid) };
		}
	}
	return sd_journal_sendv(iov, n) < 0 ? -1 : 0;
}
