/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* `mpbs-run status` and systemd's notifications against a real run: the
 * live counters the roles report reach the state file, the pids it shows
 * are the roles', the Prometheus output is well-formed, and READY=1,
 * STATUS=, RELOADING=1 and STOPPING=1 arrive on NOTIFY_SOCKET. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../roles/role_counters.h"
#include "../common/harness.h"

HARNESS_ROOT_FIXTURE

/* `mpbs-run status ARGS... TOPOLOGY`: its exit status, its output in *out. */
static int status_of(const char *format, char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "status", (char *)format, m.topology, NULL };
	if (!format) {
		argv[2] = m.topology;
		argv[3] = NULL;
	}
	return run_cmd(argv, out);
}

/* The instance's state once its confirmations reach n (or the last one seen). */
static json_t *wait_state(json_int_t confirmations, int timeout_ms)
{
	uint64_t until = mono_ms() + (uint64_t)(timeout_ms * harness_time_scale());
	for (;;) {
		char *out = NULL;
		int rc = status_of("--json", &out);
		json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
		free(out);
		json_int_t got = json_integer_value(json_object_get(json_object_get(j, "totals"), "confirmations"));
		if ((j && got >= confirmations) || mono_ms() > until)
			return j;
		json_decref(j);
		sleep_ms(200);
	}
}

static json_t *role_named(json_t *state, const char *name)
{
	size_t i;
	json_t *role;
	json_array_foreach(json_object_get(state, "roles"), i, role)
		if (strcmp(json_string_value(json_object_get(role, "name")), name) == 0)
			return role;
	return NULL;
}

Test(e2e_status, json_shows_live_counters_and_the_roles_pids, .init = need_root, .fini = finish, .timeout = 120)
{
	enum { N = 5 };
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	for (int i = 0; i < N; i++) {
		char body[32];
		int len = snprintf(body, sizeof(body), "status %d", i);
		cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, body, (size_t)len), 204);
	}
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", N, 5000 * harness_time_scale()), N);
	json_t *st = wait_state(N, 5000);
	cr_assert(st, "no state for %s", m.topology);
	json_t *totals = json_object_get(st, "totals");
	cr_assert_geq(json_integer_value(json_object_get(totals, "confirmations")), N, "%s",
		      json_dumps(st, JSON_COMPACT));
	cr_assert_geq(json_integer_value(json_object_get(totals, "requests")), N);
	cr_assert_geq(json_integer_value(json_object_get(totals, "artifacts")), 2 * N);
	cr_assert_geq(json_integer_value(json_object_get(totals, "signals")), 4 * N);
	cr_assert_eq(json_integer_value(json_object_get(st, "pid")), m.pid);
	cr_assert_str_eq(json_string_value(json_object_get(st, "state")), "running");
	struct stat lst;
	cr_assert_eq(stat(m.ledger, &lst), 0);
	json_int_t ledger_bytes = json_integer_value(json_object_get(st, "ledger_bytes"));
	cr_assert(ledger_bytes > 0 && ledger_bytes <= lst.st_size, "ledger_bytes %lld, file %lld",
		  (long long)ledger_bytes, (long long)lst.st_size);

	/* every role the supervisor runs, with the pid the host sees */
	struct mpbs_role roles[8];
	int n = mpbs_roles(&m, roles, 8);
	cr_assert_eq(n, 4);
	cr_assert_eq(json_array_size(json_object_get(st, "roles")), 4);
	static const struct {
		const char *name, *comm;
	} expect[] = { { "intermediary", "mpbs-int" }, { "association", "mpbs-assoc" }, { "provider A", "mpbs-p-A" },
		       { "provider B", "mpbs-p-B" } };
	for (size_t i = 0; i < 4; i++) {
		json_t *role = role_named(st, expect[i].name);
		cr_assert(role, "no role %s", expect[i].name);
		pid_t pid = (pid_t)json_integer_value(json_object_get(role, "pid"));
		cr_assert_eq(pid, mpbs_role_pid(&m, expect[i].comm), "%s", expect[i].name);
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
		cr_assert_eq(access(proc, F_OK), 0, "%s: %s", expect[i].name, proc);
		cr_assert_str_eq(json_string_value(json_object_get(role, "state")), "running");
		cr_assert_eq(json_integer_value(json_object_get(role, "restarts")), 0);
		cr_assert(json_is_integer(json_object_get(role, "uptime_s")));
	}
	json_t *a = role_named(st, "provider A");
	cr_assert_geq(json_integer_value(json_object_get(json_object_get(a, "counters"), "artifacts")), N);
	cr_assert_str_eq(json_string_value(json_object_get(a, "provider")), "A");
	json_decref(st);

	char *out = NULL;
	cr_assert_eq(status_of(NULL, &out), 0, "%s", out);
	cr_assert(strstr(out, "provider B") && strstr(out, "running") && strstr(out, "confirmations"), "%s", out);
	free(out);
	cr_assert_eq(mpbs_stop(&m), 0);
	/* a stopped instance is gone from the runtime directory */
	cr_assert_eq(status_of("--json", &out), 1, "%s", out);
	cr_assert(strstr(out, "no running instance") && strstr(out, "/mpbs"), "%s", out);
	free(out);
}

/* Each family's HELP and TYPE come before its samples, once; each sample
 * line is `name{labels} value` with a name of that family. */
static void check_exposition(const char *text)
{
	regex_t sample_re;
	cr_assert_eq(regcomp(&sample_re,
			     "^(mpbs_[a-z_]+)\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\")(,[a-z_]+=\"([^\"\\\\]|\\\\.)*\")*\\} "
			     "(-?[0-9]+)$",
			     REG_EXTENDED),
		     0);
	char family[128] = "", *copy = strdup(text);
	size_t samples = 0;
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];
		if (sscanf(line, "# HELP %127s", name) == 1) {
			cr_assert_str_neq(name, family, "HELP of %s twice in a row", name);
			snprintf(family, sizeof(family), "%s", name);
			continue;
		}
		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			cr_assert_str_eq(name, family, "TYPE of %s without its HELP first", name);
			cr_assert(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0, "%s", line);
			continue;
		}
		regmatch_t mt[2];
		cr_assert_eq(regexec(&sample_re, line, 2, mt, 0), 0, "not a sample line: '%s'", line);
		cr_assert_eq(strncmp(line, family, strlen(family)), 0, "'%s' outside its family %s", line, family);
		cr_assert_eq(mt[1].rm_eo, (regoff_t)strlen(family), "'%s' outside its family %s", line, family);
		samples++;
	}
	cr_assert_gt(samples, 20);
	regfree(&sample_re);
	free(copy);
}

/* The sample of metric whose labels contain `labels`; -1 if none. */
static long long sample_value(const char *text, const char *metric, const char *labels)
{
	for (const char *p = text; (p = strstr(p, metric)) != NULL; p++) {
		if ((p != text && p[-1] != '\n') || p[strlen(metric)] != '{')
			continue;
		const char *end = strchr(p, '\n');
		const char *brace = strchr(p, '}');
		if (!brace || (end && brace > end))
			continue;
		if (labels && !memmem(p, (size_t)(brace - p), labels, strlen(labels)))
			continue;
		return strtoll(brace + 2, NULL, 10);
	}
	return -1;
}

Test(e2e_status, prometheus_output_parses, .init = need_root, .fini = finish, .timeout = 120)
{
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "x", 1), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000 * harness_time_scale()), 1);
	json_decref(wait_state(1, 5000));
	char *out = NULL;
	cr_assert_eq(status_of("--prometheus", &out), 0, "%s", out);
	check_exposition(out);
	cr_assert_geq(sample_value(out, "mpbs_confirmations_total", NULL), 1, "%s", out);
	cr_assert_eq(sample_value(out, "mpbs_up", NULL), 1, "%s", out);
	cr_assert_geq(sample_value(out, "mpbs_provider_artifacts_total", "role=\"provider\",provider=\"B\""), 1, "%s",
		      out);
	cr_assert_eq(sample_value(out, "mpbs_role_up", "role=\"intermediary\""), 1, "%s", out);
	cr_assert_geq(sample_value(out, "mpbs_intermediary_requests_total", NULL), 1, "%s", out);
	free(out);
}

/* A state file whose supervisor is gone is not an instance. */
Test(e2e_status, skips_a_state_file_whose_supervisor_is_gone, .init = need_root)
{
	const char *path = "/run/mpbs/e2e-stale-00000000.status.json";
	mkdir("/run/mpbs", 0755);
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char text[256];
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"name\":\"e2e-stale-00000000\",\"pid\":%d,\"pid_start\":1,\"topology\":\"/nonexistent\","
		 "\"roles\":[],\"totals\":{}}",
		 (int)dead);
	cr_assert_eq(write_text_file(path, text), 0);
	char *argv[] = { (char *)mpbs_binary(), "status", "--json", NULL }, *out = NULL;
	int rc = run_cmd(argv, &out);
	unlink(path);
	cr_assert(rc == 0 || rc == 1, "%d: %s", rc, out);
	cr_assert_null(strstr(out, "e2e-stale"), "%s", out);
	free(out);
}

/* ------------------------------------------------------------ sd_notify */

static char notify_path[100];

static int set_notify_socket(void)
{
	return setenv("NOTIFY_SOCKET", notify_path, 1);
}

/* The next datagram within timeout_ms holding `want` (earlier ones are
 * appended to seen); 1 if found. */
static int wait_notify(int fd, const char *want, int timeout_ms, char *seen, size_t cap)
{
	uint64_t until = mono_ms() + (uint64_t)(timeout_ms * harness_time_scale());
	while (mono_ms() < until) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		size_t used = strlen(seen);
		snprintf(seen + used, cap - used, "[%s]", buf);
		if (strstr(buf, want))
			return 1;
	}
	return 0;
}

Test(e2e_status, notifies_ready_status_reloading_and_stopping, .init = need_root, .fini = finish, .timeout = 120)
{
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", m.dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", notify_path,
		  strerror(errno));
	cr_assert_eq(mpbs_launch_with(&m, set_notify_socket), 0, "mpbs-run did not become ready (log: %s)", m.log);
	static char seen[8192];
	cr_assert(wait_notify(fd, "READY=1", 5000, seen, sizeof(seen)), "no READY=1: %s", seen);
	cr_assert(strstr(seen, "STATUS=1 providers; 0 requests, 0 confirmed, 0 pending"), "%s", seen);
	/* STATUS= follows the counters, a few seconds late at most */
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "n", 1), 204);
	cr_assert(wait_notify(fd, "1 confirmed", 15000, seen, sizeof(seen)), "no STATUS= with it: %s", seen);
	/* SIGHUP: the topology is checked again between RELOADING=1 and READY=1 */
	cr_assert_eq(kill(m.pid, SIGHUP), 0);
	cr_assert(wait_notify(fd, "RELOADING=1", 5000, seen, sizeof(seen)), "no RELOADING=1: %s", seen);
	cr_assert(strstr(seen, "MONOTONIC_USEC="), "%s", seen);
	cr_assert(wait_notify(fd, "READY=1", 5000, seen, sizeof(seen)), "no READY=1 after the check: %s", seen);
	cr_assert_eq(kill(m.pid, SIGTERM), 0);
	cr_assert(wait_notify(fd, "STOPPING=1", 5000, seen, sizeof(seen)), "no STOPPING=1: %s", seen);
	cr_assert_eq(mpbs_stop(&m), 0);
	close(fd);
}

/* A role's counters record is untrusted: one of another length is not
 * taken (the supervisor says so), one of the right length is taken as the
 * role's own word and changes nothing but what `status` shows of it. Written
 * here from the host on the intermediary's status fd (fd 4 + providers),
 * taken with pidfd_getfd. */
Test(e2e_status, a_counters_record_of_another_length_is_refused, .init = need_root, .fini = finish, .timeout = 60)
{
	cr_assert_eq(mpbs_start(&m, "A", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	pid_t im = mpbs_role_pid(&m, "mpbs-int");
	int pidfd = (int)syscall(SYS_pidfd_open, im, 0);
	cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, 4 + 1, 0);
	cr_assert_geq(fd, 0, "pidfd_getfd: %s", strerror(errno));
	uint8_t bad[3 + 8 * RC_PR_COUNT] = { 'C', 8 * RC_PR_COUNT, 0 }; /* a provider's length */
	memset(bad + 3, 0xff, sizeof(bad) - 3);
	cr_assert_eq(write(fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	cr_assert_eq(file_wait_count(m.log, "to its status fd after it was ready: ignored", 1, 3000), 1, "%s", m.log);
	uint64_t v[RC_IM_COUNT] = { [RC_IM_requests] = 424242 };
	uint8_t good[ROLE_COUNTERS_RECORD_MAX];
	size_t len = role_counters_encode(good, v, RC_IM_COUNT);
	cr_assert_eq(write(fd, good, len), (ssize_t)len);
	close(fd);
	close(pidfd);
	json_t *st = NULL;
	uint64_t until = mono_ms() + 5000u * (unsigned)harness_time_scale();
	json_int_t requests = 0;
	while (requests != 424242 && mono_ms() < until) {
		char *out = NULL;
		sleep_ms(200);
		if (status_of("--json", &out) == 0) {
			json_decref(st);
			st = json_loads(out, 0, NULL);
			requests = json_integer_value(json_object_get(json_object_get(st, "totals"), "requests"));
		}
		free(out);
	}
	cr_assert_eq(requests, 424242, "%s", st ? json_dumps(st, JSON_COMPACT) : "no state");
	json_decref(st);
	cr_assert_eq(file_count(m.log, "cannot start"), 0);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}

/* A restarted role's count goes on from what it had counted: the
 * supervisor adds up its incarnations, and shows the restart and the new
 * pid. */
Test(e2e_status, counters_add_up_across_a_restart, .init = need_root, .fini = finish, .timeout = 120)
{
	cr_assert_eq(mpbs_start(&m, "A", NULL), 0, "mpbs-run did not become ready (log: %s)",
		     m.log);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, i ? "b" : "a", 1), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 2, 5000 * harness_time_scale()), 2);
	json_decref(wait_state(2, 5000));
	/* its counters reach the supervisor before it is killed */
	sleep_ms(1500);
	pid_t old = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_eq(kill(old, SIGKILL), 0);
	pid_t fresh = mpbs_wait_role(&m, "mpbs-p-A", old, 10000 * harness_time_scale());
	cr_assert_gt(fresh, 0, "provider A did not restart (log: %s)", m.log);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "c", 1), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 3, 10000 * harness_time_scale()), 3);
	json_t *st = wait_state(3, 5000);
	json_t *a = role_named(st, "provider A");
	cr_assert(a, "%s", st ? json_dumps(st, JSON_COMPACT) : "no state");
	cr_assert_eq(json_integer_value(json_object_get(a, "restarts")), 1);
	cr_assert_eq(json_integer_value(json_object_get(a, "pid")), fresh);
	cr_assert_geq(json_integer_value(json_object_get(json_object_get(a, "counters"), "artifacts")), 3, "%s",
		      json_dumps(a, JSON_COMPACT));
	json_decref(st);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}
