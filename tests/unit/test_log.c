/* SPDX-License-Identifier: Apache-2.0 */
/* unit_log: the log's levels and formats (lib/log.c): the text line's
 * RFC 3339 stamp and named level, the json object and its fields, a role's
 * line escaped and labelled in both so it never reads as the supervisor's,
 * what each level lets through, a role's plain lines, and when stderr
 * counts as the journal's stream. Each test runs in a process of its own
 * (criterion), fd 2 a memfd it reads back. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/log.h"

#define STAMP_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static int err_fd = -1;

/* fd 2 becomes a memfd; the log is set up as mpbs-run's. */
static void capture(void)
{
	int fd = memfd_create("log-out", MFD_CLOEXEC);
	cr_assert_geq(fd, 0, "memfd_create");
	err_fd = dup(2);
	cr_assert_geq(err_fd, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_init("mpbs-run");
}

static void release(void)
{
	if (err_fd >= 0) {
		dup2(err_fd, 2);
		close(err_fd);
	}
	err_fd = -1;
}

/* What fd 2 holds so far (malloc'd, NUL-terminated). */
static char *captured(void)
{
	off_t len = lseek(2, 0, SEEK_END);
	cr_assert_geq(len, 0);
	char *text = calloc(1, (size_t)len + 1);
	cr_assert_not_null(text);
	cr_assert_eq(pread(2, text, (size_t)len, 0), len);
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0, "bad pattern %s", pattern);
	int rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	cr_assert_eq(rc, 0, "no line matches %s in:\n%s", pattern, text);
}

/* Line i (from 0) of text, parsed as json; decref it. */
static json_t *json_line(const char *text, size_t i)
{
	const char *line = text;
	for (size_t k = 0; k < i; k++) {
		line = strchr(line, '\n');
		cr_assert_not_null(line, "no line %zu in:\n%s", i, text);
		line++;
	}
	const char *eol = strchr(line, '\n');
	cr_assert_not_null(eol, "line %zu has no newline:\n%s", i, text);
	json_error_t jerr;
	json_t *obj = json_loadb(line, (size_t)(eol - line), 0, &jerr);
	cr_assert(json_is_object(obj), "line %zu is not one json object (%s): %.*s", i, jerr.text,
		  (int)(eol - line), line);
	return obj;
}

static const char *field(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	cr_assert_not_null(v, "no string field \"%s\"", key);
	return v;
}

static void role_line(const char *label, long pid, const char *text)
{
	char buf[LOG_ROLE_LINE_BUF(2048)];
	log_role_line(label, pid, (const uint8_t *)text, strlen(text), "", 2, buf, sizeof(buf));
}

Test(unit_log, text_lines_start_with_an_rfc3339_stamp_and_name_their_level, .init = capture, .fini = release)
{
	log_info("ready: %d providers", 3);
	log_warn("a warning");
	log_error("an error");
	errno = ENOENT;
	log_errno("open %s", "x");
	char *text = captured();
	cr_assert_eq(count_lines(text), 4, "%s", text);
	assert_matches(text, "^" STAMP_RE " mpbs-run: info: ready: 3 providers$");
	assert_matches(text, "^" STAMP_RE " mpbs-run: warning: a warning$");
	assert_matches(text, "^" STAMP_RE " mpbs-run: error: an error$");
	assert_matches(text, "^" STAMP_RE " mpbs-run: error: open x: No such file or directory$");
	free(text);
}

Test(unit_log, each_level_writes_what_it_promises, .init = capture, .fini = release)
{
	cr_assert_eq(log_level(), LOG_LEVEL_DEFAULT);
	log_verbose("per-operation 1");
	log_debug("debug 1");
	log_info("info 1");
	log_set_level(LOG_LEVEL_VERBOSE);
	log_verbose("per-operation 2");
	log_debug("debug 2");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("debug 3");
	log_set_level(LOG_LEVEL_QUIET);
	log_info("info 4");
	log_warn("warning 4");
	log_error("error 4");
	char *text = captured();
	cr_assert_eq(count_lines(text), 4, "%s", text);
	cr_assert_null(strstr(text, "per-operation 1"));
	cr_assert_null(strstr(text, "debug 1"));
	assert_matches(text, "^" STAMP_RE " mpbs-run: info: info 1$");
	assert_matches(text, "^" STAMP_RE " mpbs-run: verbose: per-operation 2$");
	cr_assert_null(strstr(text, "debug 2"));
	assert_matches(text, "^" STAMP_RE " mpbs-run: debug: debug 3$");
	cr_assert_null(strstr(text, "info 4"));
	cr_assert_null(strstr(text, "warning 4"));
	assert_matches(text, "^" STAMP_RE " mpbs-run: error: error 4$");
	free(text);
	log_set_level(-5);
	cr_assert_eq(log_level(), LOG_LEVEL_QUIET);
	log_set_level(9);
	cr_assert_eq(log_level(), LOG_LEVEL_DEBUG);
}

Test(unit_log, only_text_and_json_are_formats, .init = capture, .fini = release)
{
	cr_assert_eq(log_set_format("xml"), -1);
	cr_assert_eq(log_set_format("JSON"), -1);
	cr_assert_eq(log_set_format(""), -1);
	log_info("still text");
	cr_assert_eq(log_set_format("json"), 0);
	cr_assert_eq(log_set_format("text"), 0);
	log_info("text again");
	char *text = captured();
	assert_matches(text, "^" STAMP_RE " mpbs-run: info: still text$");
	assert_matches(text, "^" STAMP_RE " mpbs-run: info: text again$");
	free(text);
}

Test(unit_log, json_lines_parse_and_carry_their_fields, .init = capture, .fini = release)
{
	cr_assert_eq(log_set_format("json"), 0);
	log_event(LOG_SEV_INFO, "ready", "ready: \"quoted\" back\\slash\nnext \x01 \xff");
	log_error("plain error");
	char *text = captured();
	cr_assert_eq(count_lines(text), 2, "%s", text);
	json_t *obj = json_line(text, 0);
	regex_t re;
	cr_assert_eq(regcomp(&re, "^" STAMP_RE "$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, field(obj, "ts"), 0, NULL, 0), 0, "ts %s", field(obj, "ts"));
	regfree(&re);
	cr_assert_str_eq(field(obj, "level"), "info");
	cr_assert_str_eq(field(obj, "who"), "mpbs-run");
	cr_assert_str_eq(field(obj, "event"), "ready");
	cr_assert_eq(json_integer_value(json_object_get(obj, "pid")), getpid());
	/* the text as the text format would show it, control and non-ASCII
	 * bytes escaped */
	cr_assert_str_eq(field(obj, "msg"), "ready: \"quoted\" back\\\\slash\\nnext \\x01 \\xff");
	cr_assert_null(json_object_get(obj, "role"));
	json_decref(obj);
	obj = json_line(text, 1);
	cr_assert_str_eq(field(obj, "level"), "error");
	cr_assert_str_eq(field(obj, "msg"), "plain error");
	cr_assert_null(json_object_get(obj, "event"));
	json_decref(obj);
	free(text);
}

/* What a hostile role writes to forge a supervisor line or object. */
static const char forged_json[] = "\"}\n{\"ts\":\"2026-11-30T09:15:02.123Z\",\"level\":\"error\",\"who\":\"mpbs-run\","
				  "\"msg\":\"association (pid 1) exited\"}";
static const char forged_text[] = "x\n2026-11-30T09:15:02.123Z mpbs-run: error: association (pid 1) exited";

Test(unit_log, a_role_line_in_json_is_one_object_of_that_role, .init = capture, .fini = release)
{
	cr_assert_eq(log_set_format("json"), 0);
	char line[512];
	snprintf(line, sizeof(line), "warning: %s", forged_json);
	role_line("provider A", 42, line);
	role_line("provider A", 42, forged_text);
	char *text = captured();
	cr_assert_eq(count_lines(text), 2, "a role's line became more than one:\n%s", text);
	json_t *obj = json_line(text, 0);
	cr_assert_str_eq(field(obj, "role"), "provider A");
	cr_assert_eq(json_integer_value(json_object_get(obj, "pid")), 42);
	cr_assert_str_eq(field(obj, "level"), "warning", "the role's own level word is its line's level");
	cr_assert_null(json_object_get(obj, "who"), "a role's line passes for the supervisor's");
	cr_assert_null(json_object_get(obj, "event"));
	cr_assert(strncmp(field(obj, "msg"), "\"}\\n{\"ts\":", 9) == 0, "msg: %s", field(obj, "msg"));
	json_decref(obj);
	obj = json_line(text, 1);
	cr_assert_str_eq(field(obj, "level"), "info");
	cr_assert_str_eq(field(obj, "role"), "provider A");
	cr_assert(strstr(field(obj, "msg"), "x\\n2026-11-30T") != NULL, "msg: %s", field(obj, "msg"));
	json_decref(obj);
	free(text);
}

Test(unit_log, a_role_line_in_text_stays_on_its_labelled_line, .init = capture, .fini = release)
{
	role_line("provider A", 42, forged_text);
	role_line("association", 7, "error: mpbs-run: error: the ledger is gone");
	role_line("association", 7, forged_json);
	char *text = captured();
	cr_assert_eq(count_lines(text), 3, "a role's line became more than one:\n%s", text);
	assert_matches(text, "^" STAMP_RE " provider A: info: x\\\\n2026-11-30T09:15:02\\.123Z mpbs-run: error: "
			     "association \\(pid 1\\) exited$");
	assert_matches(text, "^" STAMP_RE " association: error: mpbs-run: error: the ledger is gone$");
	assert_matches(text, "^" STAMP_RE " association: info: \"}\\\\n\\{\"ts\":");
	free(text);
}

Test(unit_log, role_lines_below_the_level_are_dropped, .init = capture, .fini = release)
{
	role_line("association", 7, "verbose: confirmed 00ff (3 providers)");
	log_set_level(LOG_LEVEL_QUIET);
	role_line("association", 7, "stopped: 0 confirmed");
	role_line("association", 7, "warning: a warning");
	role_line("association", 7, "error: an error");
	log_set_level(LOG_LEVEL_VERBOSE);
	role_line("association", 7, "verbose: confirmed 00ee (3 providers)");
	char *text = captured();
	cr_assert_eq(count_lines(text), 2, "%s", text);
	cr_assert_null(strstr(text, "00ff"));
	cr_assert_null(strstr(text, "stopped"));
	cr_assert_null(strstr(text, "a warning"));
	assert_matches(text, "^" STAMP_RE " association: error: an error$");
	assert_matches(text, "^" STAMP_RE " association: verbose: confirmed 00ee \\(3 providers\\)$");
	free(text);
}

/* A role's own lines are plain, whatever the supervisor's format: the
 * supervisor stamps and formats them. */
Test(unit_log, a_role_writes_plain_lines_with_their_level, .init = capture, .fini = release)
{
	cr_assert_eq(log_set_format("json"), 0);
	log_as_role();
	log_init("");
	log_warn("channel %d full", 0);
	log_info("stopped");
	log_verbose("dropped at the default level");
	char *text = captured();
	cr_assert_str_eq(text, "warning: channel 0 full\ninfo: stopped\n");
	free(text);
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd gave as stderr;
 * stderr counts as the journal's only when it is that very file. */
Test(unit_log, stderr_is_the_journal_only_when_journal_stream_names_it, .init = capture, .fini = release)
{
	struct stat st;
	char value[64];
	cr_assert_eq(fstat(2, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	cr_assert(log_journal_stream_matches(value, 2));
	const char *bad[] = { "", ":", "1:", ":1", " 1:2", "-1:2", "+1:2", "1:2x", "1 :2", "12" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(log_journal_stream_matches(bad[i], 2), "'%s' taken", bad[i]);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	cr_assert_not(log_journal_stream_matches(value, 2), "another inode taken");
	cr_assert_not(log_journal_stream_matches(NULL, 2));

	/* a stream that is not stderr: plain text with its stamp */
	setenv("JOURNAL_STREAM", value, 1);
	log_init("mpbs-run");
	cr_assert_not(log_to_journal());
	log_info("not the journal");
	char *text = captured();
	assert_matches(text, "^" STAMP_RE " mpbs-run: info: not the journal$");
	free(text);

	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", value, 1);
	log_init("mpbs-run");
	cr_assert(log_to_journal());
	cr_assert_eq(log_set_format("json"), 0);
	cr_assert_not(log_to_journal(), "an explicit json format is kept under journald");
	cr_assert_eq(log_set_format("text"), 0);
	cr_assert(log_to_journal());
	log_as_role();
	cr_assert_not(log_to_journal(), "a role never writes to the journal");
	/* a role that shares the supervisor's stderr (an audit weakening) names
	 * itself, and still writes plain lines */
	log_init("provider A");
	cr_assert_not(log_to_journal());
	log_warn("plain");
	text = captured();
	cr_assert_not_null(strstr(text, "\nprovider A: warning: plain\n"), "%s", text);
	free(text);
}

/* log_escape's json form reads back, through a json parser, as its text
 * form: for every byte value. */
Test(unit_log, escaping_for_json_reads_back_as_the_text_form)
{
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	char plain[4 * 256 + 1], quoted[6 * 256 + 3];
	log_escape(all, sizeof(all), plain, sizeof(plain), false);
	quoted[0] = '"';
	size_t n = log_escape(all, sizeof(all), quoted + 1, sizeof(quoted) - 2, true);
	quoted[n + 1] = '"';
	quoted[n + 2] = '\0';
	json_error_t jerr;
	json_t *s = json_loads(quoted, JSON_DECODE_ANY, &jerr);
	cr_assert(json_is_string(s), "%s: %s", jerr.text, quoted);
	cr_assert_str_eq(json_string_value(s), plain);
	json_decref(s);
	/* cut at a whole byte: "\x01" never half written */
	char small[6];
	cr_assert_eq(log_escape((const uint8_t *)"a\x01", 2, small, sizeof(small), false), 5);
	cr_assert_str_eq(small, "a\\x01");
	cr_assert_eq(log_escape((const uint8_t *)"a\x01", 2, small, 5, false), 1);
	cr_assert_str_eq(small, "a");
}
