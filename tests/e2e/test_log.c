/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* e2e_log: the supervisor's log of a real run at each level and in each
 * format. At the default level a run under load writes no line per
 * operation; -v writes each confirmation; -q only errors; json one object
 * a line; and with stderr the journal's stream (JOURNAL_STREAM), the lines
 * go to the journal's socket with their fields (a socket of the test's own,
 * in a mount namespace of its own). Needs root. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/harness.h"

#define CTX "CTX_ALPHA"
#define STAMP_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

HARNESS_ROOT_FIXTURE

TestSuite(e2e_log, .init = need_root, .fini = finish, .timeout = 120);

static void start_with(const char *log_opt)
{
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	m.log_opts[0] = log_opt;
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
}

/* n POSTs on one keep-alive connection, each answered 204, then all n
 * confirmed in the ledger (with those before). */
static void post_and_confirm(int n)
{
	size_t before = ledger_count(m.ledger, "confirmed");
	int fd = http_connect(m.port);
	cr_assert_geq(fd, 0);
	for (int i = 0; i < n; i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "log test request %d", i);
		cr_assert_eq(http_post_on(fd, "/nuvl", CTX, body, (size_t)len), 204, "request %d", i);
	}
	close(fd);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", before + (size_t)n, 20000 * harness_time_scale()),
		     before + (size_t)n, "not every request was confirmed (log: %s)", m.log);
}

/* The "op" of every confirmed record (a json array; decref it). */
static json_t *confirmed_ops(void)
{
	json_t *ops = json_array(), *records = ledger_records(m.ledger), *rec;
	cr_assert_not_null(records, "cannot read %s", m.ledger);
	size_t i;
	json_array_foreach(records, i, rec) {
		const char *type = json_string_value(json_object_get(rec, "type"));
		if (type && strcmp(type, "confirmed") == 0)
			json_array_append(ops, json_object_get(rec, "op"));
	}
	json_decref(records);
	return ops;
}

/* None of the n confirmed operations is named in log. */
static void assert_no_op_in(const char *log, size_t n)
{
	json_t *ops = confirmed_ops();
	cr_assert_eq(json_array_size(ops), n);
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		char prefix[17];
		snprintf(prefix, sizeof(prefix), "%.16s", json_string_value(op));
		cr_assert_null(strstr(log, prefix), "op %s is in the log:\n%s", json_string_value(op), log);
	}
	json_decref(ops);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/* Whether every line of text matches pattern; the first that does not is
 * named in *bad. */
static bool every_line_matches(const char *text, const char *pattern, char *bad, size_t badlen)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	bool ok = true;
	for (const char *line = text; *line && ok;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char *one = strndup(line, len);
		ok = regexec(&re, one, 0, NULL, 0) == 0;
		if (!ok)
			snprintf(bad, badlen, "%s", one);
		free(one);
		line += len + (eol ? 1 : 0);
	}
	regfree(&re);
	return ok;
}

Test(e2e_log, the_default_level_writes_no_line_per_operation)
{
	enum { N = 400 };
	start_with(NULL);
	post_and_confirm(N);
	cr_assert_eq(mpbs_stop(&m), 0, "log: %s", m.log);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	assert_no_op_in(log, N);
	size_t lines = count_lines(log);
	cr_log_info("%d requests confirmed: %zu log lines at the default level", N, lines);
	cr_assert_lt(lines, 40, "%zu lines for %d operations:\n%s", lines, N, log);
	char bad[4096];
	cr_assert(every_line_matches(log, "^" STAMP_RE " [a-zA-Z0-9 _-]+: (info|warning|error): ", bad, sizeof(bad)),
		  "a line without its stamp and level: %s", bad);
	free(log);
}

Test(e2e_log, verbose_writes_each_confirmation)
{
	enum { N = 25 };
	start_with("-v");
	post_and_confirm(N);
	cr_assert_eq(mpbs_stop(&m), 0, "log: %s", m.log);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	json_t *ops = confirmed_ops();
	cr_assert_eq(json_array_size(ops), (size_t)N);
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op) {
		char want[128];
		snprintf(want, sizeof(want), " association: verbose: confirmed %s (3 providers)\n",
			 json_string_value(op));
		cr_assert_not_null(strstr(log, want), "no line '%s' in:\n%s", want, log);
	}
	json_decref(ops);
	free(log);
}

/* A provider killed: the supervisor's error says so; its restart, the
 * roles' stop lines and every other line of information are left out. */
Test(e2e_log, quiet_writes_only_errors)
{
	start_with("-q");
	post_and_confirm(5);
	pid_t old = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(old, 0);
	cr_assert_eq(kill(old, SIGKILL), 0);
	cr_assert_gt(mpbs_wait_role(&m, "mpbs-p-A", old, 4000 * harness_time_scale()), 0,
		     "provider A was not restarted");
	post_and_confirm(10);
	cr_assert_eq(mpbs_stop(&m), 0, "log: %s", m.log);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	char want[64], bad[4096];
	snprintf(want, sizeof(want), "mpbs-run: error: provider A (pid %d) killed by signal 9", (int)old);
	cr_assert_not_null(strstr(log, want), "no '%s' in:\n%s", want, log);
	cr_assert(every_line_matches(log, "^" STAMP_RE " [a-zA-Z0-9 _-]+: error: ", bad, sizeof(bad)),
		  "not an error: %s\nlog:\n%s", bad, log);
	cr_assert_null(strstr(log, "restarted"), "%s", log);
	cr_assert_null(strstr(log, "stopped"), "%s", log);
	free(log);
}

Test(e2e_log, json_writes_one_object_a_line)
{
	start_with("--log-format=json");
	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc"), supervisor = m.pid;
	cr_assert_gt(assoc, 0);
	post_and_confirm(3);
	cr_assert_eq(mpbs_stop(&m), 0, "log: %s", m.log);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	size_t ready = 0, assoc_lines = 0, lines = 0;
	regex_t re;
	cr_assert_eq(regcomp(&re, "^" STAMP_RE "$", REG_EXTENDED | REG_NOSUB), 0);
	for (char *line = log, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		cr_assert_not_null(eol, "a last line without its newline:\n%s", log);
		json_error_t jerr;
		json_t *obj = json_loadb(line, (size_t)(eol - line), 0, &jerr);
		cr_assert(json_is_object(obj), "not one json object (%s): %.*s", jerr.text, (int)(eol - line), line);
		const char *ts = json_string_value(json_object_get(obj, "ts"));
		const char *level = json_string_value(json_object_get(obj, "level"));
		const char *who = json_string_value(json_object_get(obj, "who"));
		const char *role = json_string_value(json_object_get(obj, "role"));
		const char *event = json_string_value(json_object_get(obj, "event"));
		json_int_t pid = json_integer_value(json_object_get(obj, "pid"));
		cr_assert(ts && regexec(&re, ts, 0, NULL, 0) == 0, "ts: %.*s", (int)(eol - line), line);
		cr_assert(level && json_is_string(json_object_get(obj, "msg")), "%.*s", (int)(eol - line), line);
		cr_assert((who != NULL) != (role != NULL), "who or role: %.*s", (int)(eol - line), line);
		cr_assert_gt(pid, 0, "%.*s", (int)(eol - line), line);
		if (who && event && strcmp(event, "ready") == 0) {
			cr_assert_str_eq(who, "mpbs-run");
			cr_assert_eq(pid, supervisor);
			ready++;
		}
		if (role && strcmp(role, "association") == 0) {
			cr_assert_eq(pid, assoc, "%.*s", (int)(eol - line), line);
			assoc_lines++;
		}
		json_decref(obj);
		lines++;
	}
	regfree(&re);
	cr_assert_eq(ready, 1, "no ready event:\n%s", log);
	cr_assert_geq(assoc_lines, 1, "no line of the association:\n%s", log);
	assert_no_op_in(log, 3);
	cr_log_info("%zu json lines", lines);
	free(log);
}

/* JOURNAL_STREAM naming another file than stderr: plain stamped text. */
static int journal_stream_elsewhere(void)
{
	struct stat st;
	char value[64];
	if (stat("/", &st) < 0)
		return -1;
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return setenv("JOURNAL_STREAM", value, 1);
}

Test(e2e_log, a_journal_stream_that_is_not_stderr_leaves_text)
{
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	cr_assert_eq(mpbs_launch_with(&m, journal_stream_elsewhere), 0, "log: %s", m.log);
	cr_assert_eq(mpbs_stop(&m), 0);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	char bad[4096];
	cr_assert_geq(count_lines(log), 3, "%s", log);
	cr_assert(every_line_matches(log, "^" STAMP_RE " [a-zA-Z0-9 _-]+: (info|warning|error): ", bad, sizeof(bad)),
		  "not stamped text: %s", bad);
	free(log);
}

/* stderr (the log file) named by JOURNAL_STREAM, as systemd does for a
 * service whose stderr is the journal. */
static int journal_stream_is_stderr(void)
{
	struct stat st;
	char value[64];
	if (fstat(2, &st) < 0)
		return -1;
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return setenv("JOURNAL_STREAM", value, 1);
}

/* The value of field key in one native-protocol datagram ("KEY=value\n"
 * each), or NULL; malloc'd. */
static char *journal_field(const char *dgram, size_t len, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = dgram; p < dgram + len;) {
		const char *eol = memchr(p, '\n', (size_t)(dgram + len - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=')
			return strndup(p + kl + 1, (size_t)(eol - p) - kl - 1);
		p = eol + 1;
	}
	return NULL;
}

/* The journal's socket, drained by a thread of the test while the run goes
 * on, as journald would: a datagram socket queues a few datagrams only
 * (net.unix.max_dgram_qlen) before its sender blocks. */
struct journal_catch {
	int sock;
	volatile bool done;
	char **dgrams;
	size_t *lens, n, cap;
};

static void *journal_catch_run(void *arg)
{
	struct journal_catch *j = arg;
	static char buf[65536];
	for (;;) {
		struct pollfd p = { .fd = j->sock, .events = POLLIN };
		int r = poll(&p, 1, 100);
		ssize_t len = r > 0 ? recv(j->sock, buf, sizeof(buf), 0) : -1;
		if (len > 0) {
			if (j->n == j->cap) {
				j->cap = j->cap ? 2 * j->cap : 64;
				j->dgrams = realloc(j->dgrams, j->cap * sizeof(*j->dgrams));
				j->lens = realloc(j->lens, j->cap * sizeof(*j->lens));
				if (!j->dgrams || !j->lens)
					abort();
			}
			j->dgrams[j->n] = malloc((size_t)len);
			if (!j->dgrams[j->n])
				abort();
			memcpy(j->dgrams[j->n], buf, (size_t)len);
			j->lens[j->n++] = (size_t)len;
		} else if (r == 0 && j->done) {
			return NULL;
		}
	}
}

Test(e2e_log, under_journald_lines_go_to_the_journal_with_their_fields)
{
	struct stat st;
	if (stat("/run/systemd", &st) < 0 || !S_ISDIR(st.st_mode))
		cr_skip_test("no /run/systemd to hide the journal's socket under");
	/* this test's process alone sees a tmpfs on /run/systemd with a socket
	 * of its own where the journal's would be */
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	cr_assert_eq(mount("tmpfs", "/run/systemd", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0, "%s",
		     strerror(errno));
	cr_assert_eq(mkdir("/run/systemd/journal", 0755), 0);
	struct journal_catch j = { .sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) };
	cr_assert_geq(j.sock, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
	cr_assert_eq(bind(j.sock, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s", strerror(errno));
	pthread_t reader;
	cr_assert_eq(pthread_create(&reader, NULL, journal_catch_run, &j), 0);

	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0);
	m.log_opts[0] = "-v";
	cr_assert_eq(mpbs_launch_with(&m, journal_stream_is_stderr), 0, "log: %s", m.log);
	pid_t assoc = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(assoc, 0);
	post_and_confirm(2);
	cr_assert_eq(mpbs_stop(&m), 0);
	j.done = true;
	pthread_join(reader, NULL);
	close(j.sock);

	char assoc_pid[32];
	snprintf(assoc_pid, sizeof(assoc_pid), "%d", (int)assoc);
	size_t ready = 0, confirmed = 0, stopped = 0;
	for (size_t i = 0; i < j.n; i++) {
		const char *dgram = j.dgrams[i];
		size_t len = j.lens[i];
		char *msg = journal_field(dgram, len, "MESSAGE");
		char *prio = journal_field(dgram, len, "PRIORITY");
		char *ident = journal_field(dgram, len, "SYSLOG_IDENTIFIER");
		char *event = journal_field(dgram, len, "MPBS_EVENT");
		char *role = journal_field(dgram, len, "MPBS_ROLE");
		char *rpid = journal_field(dgram, len, "MPBS_ROLE_PID");
		cr_assert(msg && prio && ident, "a datagram without MESSAGE, PRIORITY or SYSLOG_IDENTIFIER: %.*s",
			  (int)len, dgram);
		/* the supervisor's own lines are "mpbs-run", a role's its own name,
		 * which no text of the role sets */
		char want[160];
		snprintf(want, sizeof(want), "%s%s", role ? "mpbs-" : "mpbs-run", role ? role : "");
		for (char *c = want; *c; c++)
			*c = *c == ' ' ? '-' : *c;
		cr_assert_str_eq(ident, want, "%.*s", (int)len, dgram);
		cr_assert_null(journal_field(dgram, len, "CODE_FILE"), "a location field: %.*s", (int)len, dgram);
		if (event && strcmp(event, "ready") == 0) {
			cr_assert_null(role, "the supervisor's line carries a role");
			cr_assert_eq(strncmp(msg, "ready: ", 7), 0, "%s", msg);
			cr_assert_str_eq(prio, "6");
			ready++;
		}
		if (role && strcmp(role, "association") == 0) {
			cr_assert_not_null(rpid);
			cr_assert_str_eq(rpid, assoc_pid);
			cr_assert_eq(strncmp(msg, "association: ", 13), 0, "a role's MESSAGE without its label: %s",
				     msg);
			confirmed += strstr(msg, ": confirmed ") != NULL;
			stopped += strstr(msg, ": stopped: ") != NULL;
		}
		free(msg), free(prio), free(ident), free(event), free(role), free(rpid);
		free(j.dgrams[i]);
	}
	free(j.dgrams);
	free(j.lens);
	cr_log_info("%zu datagrams to the journal's socket", j.n);
	cr_assert_eq(ready, 1, "no ready event among %zu datagrams", j.n);
	cr_assert_eq(confirmed, 2, "%zu confirmations of the association with its fields", confirmed);
	cr_assert_eq(stopped, 1);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert_str_eq(log, "", "the journal's lines also went to stderr");
	free(log);
}

/* The log options are checked before anything starts, like every other:
 * one line naming the option, exit 2. */
Test(e2e_log, a_bad_log_option_is_refused_before_anything_starts)
{
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	char *out = NULL;
	char *bad_format[] = { (char *)mpbs_binary(), "--log-format=xml", m.topology, NULL };
	cr_assert_eq(run_cmd(bad_format, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "--log-format: expected text or json, got 'xml'"), "%s", out);
	free(out);
	char *both[] = { (char *)mpbs_binary(), "-q", "-v", m.topology, NULL };
	cr_assert_eq(run_cmd(both, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "-q and -v"), "%s", out);
	free(out);
	cr_assert_eq(ledger_count(m.ledger, "checkpoint"), 0, "a refused command line started a run");
}
