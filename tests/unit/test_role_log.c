/* SPDX-License-Identifier: Apache-2.0 */
/* unit_role_log: how a role's stderr reaches the supervisor's log
 * (runner/role_log.c): one write of the role is one labelled line, every
 * newline inside it and every control or non-ASCII byte escaped, long
 * lines cut and marked, and the pipe keeps each write a record of its own.
 * The default text format: each line stamped, then "LABEL: LEVEL: ". */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../runner/role_log.h"

static int out_fd = -1;

static void open_out(void)
{
	out_fd = memfd_create("role-log-out", MFD_CLOEXEC);
	cr_assert_geq(out_fd, 0, "memfd_create");
}

static void close_out(void)
{
	if (out_fd >= 0)
		close(out_fd);
	out_fd = -1;
}

/* Everything written to out_fd so far (malloc'd, NUL-terminated). */
static char *written(void)
{
	off_t len = lseek(out_fd, 0, SEEK_END);
	cr_assert_geq(len, 0);
	char *text = calloc(1, (size_t)len + 1);
	cr_assert_not_null(text);
	cr_assert_eq(pread(out_fd, text, (size_t)len, 0), len);
	return text;
}

/* written(), each line's RFC 3339 stamp checked and taken off. */
static char *unstamped(void)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ", REG_EXTENDED), 0);
	char *text = written(), *out = text;
	for (char *line = text; *line;) {
		regmatch_t m;
		cr_assert_eq(regexec(&re, line, 1, &m, 0), 0, "no time stamp at the start of: %s", line);
		char *eol = strchr(line, '\n');
		cr_assert_not_null(eol, "no newline after: %s", line);
		size_t keep = (size_t)(eol + 1 - line) - (size_t)m.rm_eo;
		memmove(out, line + m.rm_eo, keep);
		out += keep;
		line = eol + 1;
	}
	*out = '\0';
	regfree(&re);
	return text;
}

static void feed(struct role_log *l, const char *rec)
{
	role_log_feed(l, (const uint8_t *)rec, strlen(rec), out_fd);
}

Test(unit_role_log, a_forged_supervisor_line_stays_on_one_labelled_line, .init = open_out, .fini = close_out)
{
	struct role_log l = { .label = "provider A" };
	feed(&l, "\nmpbs-run: provider A (pid 1) exited\n");
	char *text = unstamped();
	cr_assert_str_eq(text, "provider A: info: \\nmpbs-run: provider A (pid 1) exited\n");
	free(text);
}

Test(unit_role_log, control_and_non_ascii_bytes_are_escaped, .init = open_out, .fini = close_out)
{
	struct role_log l = { .label = "intermediary" };
	feed(&l, "\x1b[2J\rback\\slash\ttab \xc3\xa9\x7f\n");
	char *text = unstamped();
	cr_assert_str_eq(text, "intermediary: info: \\x1b[2J\\rback\\\\slash\\ttab \\xc3\\xa9\\x7f\n");
	free(text);
}

Test(unit_role_log, a_write_without_newline_continues_the_line, .init = open_out, .fini = close_out)
{
	struct role_log l = { .label = "association" };
	feed(&l, "abc");
	char *text = unstamped();
	cr_assert_str_eq(text, "", "a partial line was written early: %s", text);
	free(text);
	feed(&l, "def\n");
	feed(&l, "tail");
	role_log_flush(&l, out_fd);
	text = unstamped();
	cr_assert_str_eq(text, "association: info: abcdef\nassociation: info: tail [no newline at its end]\n");
	free(text);
}

Test(unit_role_log, a_line_over_the_bound_is_cut_and_says_so, .init = open_out, .fini = close_out)
{
	struct role_log l = { .label = "provider B" };
	size_t n = ROLE_LOG_LINE_MAX + 500;
	char *big = malloc(n + 2);
	cr_assert_not_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	feed(&l, big); /* cut at once, before its end arrives */
	feed(&l, "more of the same line\n");
	feed(&l, "next\n");
	free(big);
	char *text = unstamped();
	char *nl = strchr(text, '\n');
	cr_assert_not_null(nl);
	char want_note[64];
	snprintf(want_note, sizeof(want_note), " [cut: line longer than %d bytes]", ROLE_LOG_LINE_MAX);
	size_t head = strlen("provider B: info: ");
	cr_assert_eq((size_t)(nl - text), head + ROLE_LOG_LINE_MAX + strlen(want_note), "first line of %zu bytes",
		     (size_t)(nl - text));
	cr_assert_eq(strspn(text + head, "x"), (size_t)ROLE_LOG_LINE_MAX);
	cr_assert_eq(strncmp(text + head + ROLE_LOG_LINE_MAX, want_note, strlen(want_note)), 0);
	cr_assert_str_eq(nl + 1, "provider B: info: next\n", "the rest of the cut line leaked: %s", nl + 1);
	free(text);
}

Test(unit_role_log, the_pipe_keeps_each_write_a_record, .init = open_out, .fini = close_out)
{
	int rd, wr;
	char err[256];
	struct role_log l = { .label = "provider C" };
	cr_assert_eq(role_log_pipe(&rd, &wr, err, sizeof(err)), 0, "%s", err);
	/* Two lines in one write, then two writes: three lines, the first
	 * holding an escaped newline. */
	cr_assert_eq(write(wr, "one\ntwo\n", 8), 8);
	cr_assert_eq(write(wr, "three\n", 6), 6);
	cr_assert_eq(write(wr, "four\n", 5), 5);
	cr_assert_eq(role_log_drain(&l, rd, out_fd), 0, "the pipe was not drained");
	char *text = unstamped();
	cr_assert_str_eq(text, "provider C: info: one\\ntwo\nprovider C: info: three\nprovider C: info: four\n");
	free(text);
	close(wr);
	cr_assert_eq(role_log_drain(&l, rd, out_fd), -1, "end of file not reported");
	close(rd);
}
