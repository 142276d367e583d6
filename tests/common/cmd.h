/* SPDX-License-Identifier: Apache-2.0 */
/* Running a command the way a user would, for the command-line tests:
 * in a given directory, optionally as another user, with its stdout and
 * stderr kept apart. */
#ifndef MPBS_TEST_CMD_H
#define MPBS_TEST_CMD_H

#include <stdbool.h>
#include <sys/types.h>

struct cmd_result {
	int status; /* exit status, 128+signal if killed, -1 if it could not run */
	char *out;  /* stdout, NUL-terminated (malloc'd, never NULL after cmd_run) */
	char *err;  /* stderr, the same */
};

/* Runs argv (argv[0] looked up in PATH) in directory cwd (NULL: this one),
 * as uid/gid when uid is not (uid_t)-1, with stdin from /dev/null. */
void cmd_run(struct cmd_result *r, const char *cwd, uid_t uid, char *const argv[]);
void cmd_result_free(struct cmd_result *r);

/* Lines in s (a last line without a newline counts). */
int cmd_count_lines(const char *s);


#endif
