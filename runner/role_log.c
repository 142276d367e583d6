/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* A role's stderr as the supervisor reads it. See role_log.h. */
#include "role_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"

/* Records read per role_log_drain call: the loop's other events get their
 * turn, and epoll (level-triggered) reports the pipe again. */
#define ROLE_LOG_READS_MAX 16

int role_log_pipe(int *rd, int *wr, char *err, size_t errlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC | O_DIRECT) < 0) {
		snprintf(err, errlen, "pipe2(O_DIRECT) for a role's log: %s", strerror(errno));
		return -1;
	}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK | O_DIRECT) < 0) {
		snprintf(err, errlen, "role log pipe: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	*rd = fds[0];
	*wr = fds[1];
	return 0;
}

static void emit(struct role_log *l, const char *note, int out_fd)
{
	log_role_line(l->label, (long)l->pid, (const uint8_t *)l->line, l->len, note, out_fd, l->out, sizeof(l->out));
	l->len = 0;
}

void role_log_feed(struct role_log *l, const uint8_t *rec, size_t n, int out_fd)
{
	bool ends_line = n > 0 && rec[n - 1] == '\n';
	size_t body = ends_line ? n - 1 : n;
	if (!l->cut) {
		size_t room = ROLE_LOG_LINE_MAX - l->len;
		size_t take = body < room ? body : room;
		memcpy(l->line + l->len, rec, take);
		l->len += take;
		if (take < body) {
			/* written at once: the rest of the line is dropped */
			char note[64];
			snprintf(note, sizeof(note), " [cut: line longer than %d bytes]", ROLE_LOG_LINE_MAX);
			emit(l, note, out_fd);
			l->cut = true;
		}
	}
	if (ends_line) {
		if (!l->cut)
			emit(l, "", out_fd);
		l->cut = false;
		l->len = 0;
	}
}

int role_log_drain(struct role_log *l, int rd, int out_fd)
{
	_Static_assert(sizeof(l->rec) >= PIPE_BUF, "a log record is up to PIPE_BUF bytes");
	for (int i = 0; i < ROLE_LOG_READS_MAX; i++) {
		ssize_t n = read(rd, l->rec, sizeof(l->rec));
		if (n > 0) {
			role_log_feed(l, l->rec, (size_t)n, out_fd);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 1;
}

void role_log_flush(struct role_log *l, int out_fd)
{
	if (l->len > 0 && !l->cut)
		emit(l, " [no newline at its end]", out_fd);
	l->len = 0;
	l->cut = false;
}
