/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cmd.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int temp_file(char *path)
{
	strcpy(path, "/tmp/mpbs-cmd-XXXXXX");
	return mkstemp(path);
}

static char *slurp(const char *path)
{
	char *s = read_file(path, NULL);
	return s ? s : strdup("");
}

void cmd_run(struct cmd_result *r, const char *cwd, uid_t uid, char *const argv[])
{
	char out_path[32], err_path[32];
	int out = temp_file(out_path), err = temp_file(err_path);
	r->status = -1;
	pid_t pid = out < 0 || err < 0 ? -1 : fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		if (uid != (uid_t)-1 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0) {
		int st = 0;
		if (waitpid(pid, &st, 0) == pid)
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	r->out = slurp(out_path);
	r->err = slurp(err_path);
	unlink(out_path);
	unlink(err_path);
}

void cmd_result_free(struct cmd_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int cmd_count_lines(const char *s)
{
	int n = 0;
	for (const char *p = s; *p; p++)
		if (*p == '\n' || p[1] == '\0')
			n++;
	return n;
}
