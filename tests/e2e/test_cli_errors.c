/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_cli_errors: the README's error table, row by row, through the real
 * binary. The table is read from README.md itself, so the documented exit
 * status and message of each bad input cannot drift from what mpbs-run
 * does: each row's command runs in a directory holding the files the
 * README names, and must exit with the row's status and print its message
 * (a bad command line: exactly that line, then where --help is). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cmd.h"
#include "../common/harness.h"

#define ROWS_MAX 64
#define ARGS_MAX 16

struct row {
	char *input, *command, *message;
	int status;
};

static struct mpbs m;

static void finish(void)
{
	mpbs_cleanup(&m);
}

TestSuite(e2e_cli_errors, .fini = finish, .timeout = 120);

/* A cell of a Markdown table row, trimmed of blanks and of the backticks
 * around it; NULL past the last. */
static char *next_cell(char **p)
{
	char *start = *p, *bar = strchr(start, '|');
	if (!bar)
		return NULL;
	*bar = '\0';
	*p = bar + 1;
	while (*start == ' ')
		start++;
	char *end = start + strlen(start);
	while (end > start && end[-1] == ' ')
		*--end = '\0';
	if (end - start >= 2 && *start == '`' && end[-1] == '`') {
		end[-1] = '\0';
		start++;
	}
	return start;
}

/* The rows of the table under "### Errors" in the README (text is kept:
 * the rows point into it). */
static size_t read_table(char *text, struct row *rows)
{
	char *p = strstr(text, "\n### Errors\n");
	cr_assert_not_null(p, "README.md has no '### Errors' section");
	p = strstr(p, "\n| bad input | command | exit | message |\n");
	cr_assert_not_null(p, "the Errors section has no table with columns bad input, command, exit, message");
	p = strchr(p + 1, '\n') + 1; /* the separator row */
	p = strchr(p, '\n') + 1;
	size_t n = 0;
	while (*p == '|') {
		char *eol = strchr(p, '\n');
		cr_assert_not_null(eol);
		*eol = '\0';
		char *cursor = p + 1, *cells[4];
		for (int i = 0; i < 4; i++) {
			cells[i] = next_cell(&cursor);
			cr_assert_not_null(cells[i], "README error table: a row with fewer than 4 cells: %s", p);
		}
		cr_assert_lt(n, ROWS_MAX);
		char *end;
		long status = strtol(cells[2], &end, 10);
		cr_assert(*end == '\0' && status > 0, "README error table: exit '%s' is not a status", cells[2]);
		rows[n++] = (struct row){ .input = cells[0], .command = cells[1], .message = cells[3], .status = (int)status };
		p = eol + 1;
	}
	return n;
}

static void write_fixtures(void)
{
	char path[PATH_MAX];
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(path, sizeof(path), "%s/bad.conf", m.dir);
	cr_assert_eq(write_text_file(path, "[runner]\nuid_base = 200000\n\n[intermediary]\nlisten = 127.0.0.1:99999\n"), 0);
	/* typo.conf: the topology, its provider's policy a typo.policy with an
	 * unknown key on line 2 */
	snprintf(path, sizeof(path), "%s/typo.policy", m.dir);
	cr_assert_eq(write_text_file(path, "accept_context = CTX_ALPHA\nfrobnicate = 1\n"), 0);
	char typo[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/topology.conf", m.dir);
	snprintf(typo, sizeof(typo), "%s/typo.conf", m.dir);
	char *cp[] = { "cp", path, typo, NULL };
	cr_assert_eq(run_cmd(cp, NULL), 0);
	cr_assert_eq(file_replace(typo, "policy = A.policy", "policy = typo.policy"), 0);
	snprintf(path, sizeof(path), "%s/tampered.jsonl", m.dir);
	cr_assert_eq(write_text_file(path, "{\"seq\":1,\"prev\":\"0000000000000000000000000000000000000000000000000000000000"
					   "000000\",\"type\":\"confirmed\"}\n"),
		     0);
	snprintf(path, sizeof(path), "%s/keys", m.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	char *keygen[] = { (char *)mpbs_binary(), "keygen", "keys/A", NULL };
	struct cmd_result r;
	cmd_run(&r, m.dir, (uid_t)-1, keygen);
	cr_assert_eq(r.status, 0, "keygen keys/A: %s", r.err);
	cmd_result_free(&r);
}

/* A write lock on the whole ledger file, as a running instance holds it
 * (runner/instance_lock.c); the fd keeps it until closed. */
static int hold_ledger(void)
{
	int fd = open(m.ledger, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

static void check_row(const struct row *row)
{
	char command[512], *argv[ARGS_MAX];
	snprintf(command, sizeof(command), "%s", row->command);
	size_t argc = 0;
	for (char *save = NULL, *w = strtok_r(command, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		cr_assert_lt(argc, ARGS_MAX - 1);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	cr_assert(argc > 0 && strcmp(argv[0], "mpbs-run") == 0, "row '%s': the command is not mpbs-run's", row->input);
	argv[0] = (char *)mpbs_binary();

	uid_t uid = (uid_t)-1;
	int held = -1;
	if (strstr(row->input, "other than root") && geteuid() == 0)
		uid = 65534; /* nobody */
	if (strstr(row->input, "another running instance")) {
		if (geteuid() != 0) {
			cr_log_warn("row '%s' left out: it needs root", row->input);
			return;
		}
		held = hold_ledger();
	}
	struct cmd_result r;
	cmd_run(&r, m.dir, uid, argv);
	if (held >= 0)
		close(held);

	cr_assert_eq(r.status, row->status, "'%s' (%s): exit %d, the README says %d; stderr: %s", row->command,
		     row->input, r.status, row->status, r.err);
	cr_assert(strstr(r.err, row->message) || strstr(r.out, row->message),
		  "'%s' (%s): the README's message '%s' is not in stdout '%s' or stderr '%s'", row->command, row->input,
		  row->message, r.out, r.err);
	if (row->status == 2 && strncmp(row->message, "mpbs-run", 8) == 0) {
		/* A refused command line (the README writes its message from the
		 * program's name; verify's other exit 2, a file it cannot read,
		 * is one plain line): one line naming the problem, then where
		 * the usage is. */
		cr_assert_str_empty(r.out, "'%s': a refused command line printed on stdout: %s", row->command, r.out);
		cr_assert_eq(cmd_count_lines(r.err), 2, "'%s': not two lines: %s", row->command, r.err);
		size_t who = strcspn(r.err, ":");
		char want[128];
		snprintf(want, sizeof(want), "\ntry '%.*s --help'\n", (int)who, r.err);
		cr_assert(strstr(r.err, want), "'%s': no %s in: %s", row->command, want + 1, r.err);
	} else {
		cr_assert_leq(cmd_count_lines(r.err), 1, "'%s': more than one line: %s", row->command, r.err);
	}
	cmd_result_free(&r);
}

Test(e2e_cli_errors, every_row_of_the_readme_error_table)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/README.md", mpbs_srcdir());
	char *readme = read_file(path, NULL);
	cr_assert_not_null(readme, "%s", path);
	struct row rows[ROWS_MAX];
	size_t n = read_table(readme, rows);
	bool seen[256] = { false };
	for (size_t i = 0; i < n; i++)
		seen[rows[i].status & 255] = true;
	cr_assert(n >= 10 && seen[1] && seen[2] && seen[75] && seen[78],
		  "the table has %zu rows, and not every exit status (1, 2, 75, 78)", n);
	write_fixtures();
	for (size_t i = 0; i < n; i++)
		check_row(&rows[i]);
	free(readme);
}
