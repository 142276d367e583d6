/* SPDX-License-Identifier: Apache-2.0 */
/* Each role's own stderr: a pipe whose read end the supervisor holds. The
 * supervisor drains it in its loop and writes every line to its own log
 * in its format (lib/log.h: log_role_line), labelled with the role and
 * every control, non-ASCII or backslash byte escaped, so nothing a role
 * writes can pass for a supervisor line or another role's, and no role
 * holds the supervisor's fd 2 (its size, offset and file flags) or can
 * read any log. */
#ifndef MPBS_ROLE_LOG_H
#define MPBS_ROLE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/log.h"

/* Longest line kept from a role, in bytes before escaping; a longer line
 * is written cut at this length, says so, and its rest is dropped. */
#define ROLE_LOG_LINE_MAX 2048

struct role_log {
	const char *label;           /* "provider A": the prefix of each line */
	pid_t pid;                   /* its process (0: not said), in the json and journald forms */
	char line[ROLE_LOG_LINE_MAX]; /* the line being assembled */
	/* what it reads and writes pass through here, never the stack: the
	 * supervisor keeps its role_logs where no role inherits them */
	uint8_t rec[4096];
	char out[LOG_ROLE_LINE_BUF(ROLE_LOG_LINE_MAX)];
	size_t len;
	bool cut;                    /* the current line passed the bound: drop until its end */
};

/* A role's log pipe in packet mode (O_DIRECT): each write(2) of up to
 * PIPE_BUF bytes is one record. Read end non-blocking (the supervisor
 * never waits on a role), write end blocking (a role's line is never
 * lost, only delayed). Both O_CLOEXEC. Returns 0, or -1 with err set. */
int role_log_pipe(int *rd, int *wr, char *err, size_t errlen);

/* One record as read from the pipe. A newline that ends the record ends
 * the line; any other newline is part of it and shown escaped, so one
 * write is one line of the log. A record without a final newline
 * continues the line. Complete lines go to out_fd (to the journal when
 * the supervisor's log is there: log_role_line). */
void role_log_feed(struct role_log *l, const uint8_t *rec, size_t n, int out_fd);

/* Reads the records waiting on rd (a bounded number per call, so one role
 * cannot hold the supervisor's loop) and feeds them. Returns 1 if it
 * stopped at that bound (more may wait), 0 once the pipe is empty, -1 at
 * end of file or on an error other than EAGAIN. */
int role_log_drain(struct role_log *l, int rd, int out_fd);

/* Writes a line still being assembled (its role ended without a newline). */
void role_log_flush(struct role_log *l, int out_fd);

#endif
