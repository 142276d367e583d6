/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The whole pipeline, as a user runs it: the real binary as root, real
 * HTTP on loopback, the real ledger read back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <jansson.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/harness.h"

static struct mpbs m;

static void start_abc(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
}

static void finish(void)
{
	mpbs_cleanup(&m);
}

/* The ledger's records (decref it). */
static json_t *records_of_ledger(void)
{
	json_t *records = ledger_records(m.ledger);
	cr_assert_not_null(records, "cannot read %s", m.ledger);
	return records;
}

static bool has_type(const json_t *rec, const char *type)
{
	const char *t = json_string_value(json_object_get(rec, "type"));
	return t && strcmp(t, type) == 0;
}

/* The providers listed by the first confirmed record. */
static char *first_confirmed_providers(void)
{
	json_t *records = records_of_ledger(), *rec;
	char *result = NULL;
	size_t i;
	json_array_foreach(records, i, rec) {
		if (has_type(rec, "confirmed")) {
			result = json_dumps(json_object_get(rec, "providers"), JSON_COMPACT);
			break;
		}
	}
	json_decref(records);
	return result;
}

static int verify_ledger(char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--topology", m.topology, NULL };
	return run_cmd(argv, out);
}

Test(e2e_pipeline, post_with_context_is_confirmed_by_all, .init = start_abc, .fini = finish)
{
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 2000), 1, "no confirmation within 2 s");
	char *providers = first_confirmed_providers();
	cr_assert_str_eq(providers, "[\"A\",\"B\",\"C\"]");
	free(providers);
	cr_assert_eq(ledger_count(m.ledger, "signal"), 6);
	cr_assert_eq(mpbs_stop(&m), 0);
	char *out = NULL;
	cr_assert_eq(verify_ledger(&out), 0, "verify: %s", out);
	cr_assert(strstr(out, "OK: ") != NULL, "%s", out);
	free(out);
	/* Each provider drew its own epoch: the roles do not share the random
	 * stream they were cloned with. */
	json_t *records = records_of_ledger(), *rec;
	char epochs[3][33] = { "", "", "" };
	static const char *const names[3] = { "A", "B", "C" };
	for (size_t i = 0; i < 3; i++) {
		size_t k;
		json_array_foreach(records, k, rec) {
			const char *provider = json_string_value(json_object_get(rec, "provider"));
			const char *epoch = json_string_value(json_object_get(rec, "epoch"));
			if (has_type(rec, "checkpoint") && json_is_true(json_object_get(rec, "opens")) && provider &&
			    strcmp(provider, names[i]) == 0 && epoch) {
				cr_assert_eq(strlen(epoch), 32, "epoch %s of provider %s", epoch, names[i]);
				snprintf(epochs[i], sizeof(epochs[0]), "%s", epoch);
				break;
			}
		}
		cr_assert(epochs[i][0], "no epoch of provider %s in the ledger", names[i]);
	}
	json_decref(records);
	cr_assert(strcmp(epochs[0], epochs[1]) && strcmp(epochs[0], epochs[2]) && strcmp(epochs[1], epochs[2]),
		  "epochs repeat: %s %s %s", epochs[0], epochs[1], epochs[2]);
}

Test(e2e_pipeline, wrong_or_missing_context_gives_204_and_no_signal, .init = start_abc, .fini = finish)
{
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_BETA", NULL, "body", 4), 204);
	cr_assert_eq(http_post(m.port, "/nuvl", NULL, NULL, "body", 4), 204);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHAX", NULL, "body", 4), 204);
	cr_assert_eq(mpbs_stop(&m), 0); /* a stop drains every queued artifact and signal */
	cr_assert_eq(ledger_count(m.ledger, "signal"), 0);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 0);
	cr_assert_geq(ledger_count(m.ledger, "checkpoint"), 3, "each provider signs its epoch");
}

Test(e2e_pipeline, oversize_body_gives_204_and_no_signal, .init = start_abc, .fini = finish)
{
	size_t len = 65537;
	char *body = malloc(len);
	memset(body, 'x', len);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, body, len), 204);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, body, 65536), 204);
	free(body);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 2000), 1, "the body at the limit is confirmed");
	cr_assert_eq(mpbs_stop(&m), 0);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 1, "only the body at the limit");
	cr_assert_eq(ledger_count(m.ledger, "signal"), 6);
}

Test(e2e_pipeline, other_methods_paths_and_malformed_http, .init = start_abc, .fini = finish)
{
	static const char get[] = "GET /nuvl HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char other[] = "POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	static const char garbage[] = "BLAH\x01\x02 / HTTP/9\r\n\r\n";
	static const char no_host[] = "POST /nuvl HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	bool closed = false;
	cr_assert_eq(http_raw(m.port, get, strlen(get), NULL), 405);
	cr_assert_eq(http_raw(m.port, other, strlen(other), NULL), 404);
	cr_assert_eq(http_raw(m.port, garbage, strlen(garbage), &closed), 400);
	cr_assert(closed, "a malformed request closes the connection");
	cr_assert_eq(http_raw(m.port, no_host, strlen(no_host), &closed), 400, "HTTP/1.1 without Host");
	cr_assert_eq(mpbs_stop(&m), 0);
	cr_assert_eq(ledger_count(m.ledger, "signal"), 0);
}

Test(e2e_pipeline, thousand_requests_on_keepalive_all_confirmed, .init = start_abc, .fini = finish, .timeout = 60)
{
	enum { CONNS = 4, PER_CONN = 250 };
	for (int c = 0; c < CONNS; c++) {
		int fd = http_connect(m.port);
		cr_assert_geq(fd, 0);
		for (int i = 0; i < PER_CONN; i++) {
			char body[64];
			int len = snprintf(body, sizeof(body), "request %d on connection %d", i, c);
			cr_assert_eq(http_post_on(fd, "/nuvl", "CTX_ALPHA", body, (size_t)len), 204, "request %d/%d", c, i);
		}
		close(fd);
	}
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1000, 10000), 1000);
	cr_assert_eq(mpbs_stop(&m), 0);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 1000, "exactly once each");
	char *out = NULL;
	cr_assert_eq(verify_ledger(&out), 0, "verify: %s", out);
	cr_assert(strstr(out, "OK: ") && strstr(out, " 1000 confirmed"), "%s", out);
	free(out);
}

/* Every role is a child of the supervisor, named for ps, and none is left
 * after a SIGTERM. */
Test(e2e_pipeline, roles_are_named_processes_and_stop_cleanly, .init = start_abc, .fini = finish)
{
	char path[64], *children;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", m.pid, m.pid);
	children = read_file(path, NULL);
	cr_assert_not_null(children);
	pid_t pids[8];
	int n = 0;
	char names[256] = "";
	for (char *save = NULL, *tok = strtok_r(children, " \n", &save); tok && n < 8; tok = strtok_r(NULL, " \n", &save)) {
		pids[n++] = atoi(tok);
		char comm_path[64];
		snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", tok);
		char *comm = read_file(comm_path, NULL);
		cr_assert_not_null(comm);
		strncat(names, comm, sizeof(names) - strlen(names) - 1);
		free(comm);
	}
	free(children);
	cr_assert_eq(n, 5, "intermediary, association and three providers");
	cr_assert(strstr(names, "mpbs-int\n") && strstr(names, "mpbs-assoc\n") && strstr(names, "mpbs-p-A\n") &&
		  strstr(names, "mpbs-p-B\n") && strstr(names, "mpbs-p-C\n"), "%s", names);
	cr_assert_eq(mpbs_stop(&m), 0);
	for (int i = 0; i < n; i++)
		cr_assert(kill(pids[i], 0) < 0 && errno == ESRCH, "role pid %d survived the stop", pids[i]);
}

Test(e2e_cli, check_names_file_and_line_and_exits_78)
{
	char dir[] = "/tmp/mpbs-cli-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "[runner]\nuid_base = 200000\n\n[intermediary]\nlisten = 127.0.0.1:99999\n");
	fclose(f);
	char *argv[] = { (char *)mpbs_binary(), "-t", path, NULL };
	char *out = NULL;
	cr_assert_eq(run_cmd(argv, &out), 78);
	char want[160];
	snprintf(want, sizeof(want), "%s:5:", path);
	cr_assert(strstr(out, want) && strstr(out, "listen"), "%s", out);
	free(out);
	unlink(path);
	rmdir(dir);
}

Test(e2e_cli, reference_topology_checks_ok)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/contrib/topologies/reference.conf", mpbs_srcdir());
	char *argv[] = { (char *)mpbs_binary(), "-t", path, NULL };
	char *out = NULL;
	cr_assert_eq(run_cmd(argv, &out), 0, "%s", out);
	free(out);
}

/* The largest headers the contract allows (a 4096-byte token beside the
 * context) fit the intermediary's per-connection memory: still 204, still
 * forwarded (the reference providers ignore tokens, so it is confirmed). */
Test(e2e_pipeline, largest_allowed_headers_are_forwarded, .init = start_abc, .fini = finish)
{
	char *token = malloc(4097);
	memset(token, 'a', 4096);
	token[4096] = '\0';
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", token, "big headers", 11), 204);
	free(token);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 2000), 1, "not forwarded");
	cr_assert_eq(mpbs_stop(&m), 0);
}

/* What container runtimes (and valgrind) do to clone3. */
static int clone3_enosys(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) : -1;
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

static void ns_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", (int)pid);
	ssize_t n = readlink(path, buf, len - 1);
	cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

/* Where clone3 is ENOSYS the roles come up through clone(2): each still in
 * its own cgroup namespace and, when it has cgroup limits, in its group. */
Test(e2e_pipeline, roles_start_alike_where_clone3_is_enosys, .fini = finish)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0);
	cr_assert_eq(topology_insert(m.topology, "provider A", "pids_max = 64\n"), 0);
	cr_assert_eq(mpbs_launch_with(&m, clone3_enosys), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "via clone", 9), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000), 1);

	char host_ns[64], role_ns[64];
	ns_of(getpid(), host_ns, sizeof(host_ns));
	struct mpbs_role roles[8];
	int n = mpbs_roles(&m, roles, 8);
	cr_assert_eq(n, 4, "%d roles", n);
	for (int i = 0; i < n; i++) {
		ns_of(roles[i].pid, role_ns, sizeof(role_ns));
		cr_assert_str_neq(role_ns, host_ns, "%s shares the host's cgroup namespace", roles[i].comm);
	}
	char *log = read_file(m.log, NULL);
	bool no_cgroups = log && strstr(log, "are not applied, rlimits are");
	free(log);
	if (!no_cgroups) {
		char path[64], want[64];
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)mpbs_role_pid(&m, "mpbs-p-A"));
		snprintf(want, sizeof(want), "/mpbs-run.%d/mpbs-p-A\n", (int)m.pid);
		char *where = read_file(path, NULL);
		cr_assert(where && strstr(where, want), "provider A in %s, not in ...%s", where, want);
		free(where);
	}
	cr_log_info("clone(2) path: 4 roles in their own cgroup namespaces; provider A %s", no_cgroups ? "has no cgroup on this machine" : "in its cgroup");
	cr_assert_eq(mpbs_stop(&m), 0);
}

#define BIG_CLIENTS 64
#define BIG_EACH 8
#define BIG_BODY 60000

struct big_client {
	pthread_t thread;
	int id;
	int answered;
};

static void *big_client_run(void *arg)
{
	struct big_client *c = arg;
	static __thread char body[BIG_BODY];
	int fd = http_connect(m.port);
	for (int i = 0; fd >= 0 && i < BIG_EACH; i++) {
		memset(body, 'a' + (c->id + i) % 26, sizeof(body));
		snprintf(body, 32, "client %d body %d ", c->id, i);
		if (http_post_on(fd, "/nuvl", "CTX_ALPHA", body, sizeof(body)) == 204)
			c->answered++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Many connections completing large requests in the same loop turns: more
 * bytes of artifacts than a channel takes at once. The intermediary
 * flushes and waits for the channels mid-turn, so none is dropped: every
 * answered request is confirmed, and the stop line counts no drop. */
Test(e2e_pipeline, large_bodies_on_many_connections_are_all_forwarded, .init = start_abc, .fini = finish,
     .timeout = 120)
{
	static struct big_client c[BIG_CLIENTS];
	int answered = 0;
	for (int i = 0; i < BIG_CLIENTS; i++) {
		c[i] = (struct big_client){ .id = i };
		cr_assert_eq(pthread_create(&c[i].thread, NULL, big_client_run, &c[i]), 0);
	}
	for (int i = 0; i < BIG_CLIENTS; i++) {
		pthread_join(c[i].thread, NULL);
		answered += c[i].answered;
	}
	cr_assert_eq(answered, BIG_CLIENTS * BIG_EACH, "%d of %d large POSTs answered 204", answered,
		     BIG_CLIENTS * BIG_EACH);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", (size_t)answered, 20000), (size_t)answered);
	cr_assert_eq(mpbs_stop(&m), 0);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert(strstr(log, " 0 dropped on a full channel, 0 failed"), "the intermediary dropped artifacts:\n%s",
		  log);
	free(log);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), (size_t)answered, "exactly once each");
}
