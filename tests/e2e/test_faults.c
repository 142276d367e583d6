/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Faults and hostile clients, against the real binary as root on
 * loopback. e2e_faults checks that a role past its restart budget stops the
 * run (kills under load and whole-tree kills: tests/e2e/test_crash.c).
 * e2e_hostile throws bad HTTP
 * at the intermediary while a separate client keeps posting well-formed
 * requests that must keep getting 204 and be confirmed, with no role dying.
 * Only pids this process started (the supervisor and its children) are ever
 * signalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/harness.h"

#define CTX "CTX_ALPHA"
#define MAX_ROLES 16

static struct mpbs m;

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_geq(sodium_init(), 0);
}

static void finish(void)
{
	mpbs_cleanup(&m);
}

static int verify_ledger(char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--topology", m.topology, NULL };
	return run_cmd(argv, out);
}

static void assert_verify_passes(void)
{
	char *out = NULL;
	int rc = verify_ledger(&out);
	cr_assert_eq(rc, 0, "verify exited %d: %s", rc, out ? out : "");
	free(out);
}

/* ---------------------------------------------------------------- roles */

static size_t snapshot_roles(struct mpbs_role *roles)
{
	int n = mpbs_roles(&m, roles, MAX_ROLES);
	cr_assert_gt(n, 0, "cannot list the roles of supervisor %d", (int)m.pid);
	return (size_t)n;
}

static bool all_gone(const struct mpbs_role *roles, size_t n, pid_t *alive)
{
	for (size_t i = 0; i < n; i++)
		if (kill(roles[i].pid, 0) == 0 || errno != ESRCH) {
			*alive = roles[i].pid;
			return false;
		}
	return true;
}

static size_t log_deaths(void)
{
	return file_count(m.log, "killed by") + file_count(m.log, "exited with status");
}

/* --------------------------------------------------------------- faults */

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/* The association past its own budget stops the run (a provider past its
 * budget is given up on instead: tests/e2e/test_supervise_dos.c). */
Test(e2e_faults, restart_budget_exhausted_stops_everything, .init = need_root, .fini = finish, .timeout = 60)
{
	struct mpbs_role seen[MAX_ROLES * 2];
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_budget = 2\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	size_t n = snapshot_roles(seen);
	pid_t victim = mpbs_role_pid(&m, "mpbs-assoc");
	for (int i = 0; i < 3; i++) {
		cr_assert_gt(victim, 0, "the association is not running before kill %d (log: %s)", i + 1, m.log);
		cr_assert_eq(kill(victim, SIGKILL), 0);
		if (i < 2) {
			victim = mpbs_wait_role(&m, "mpbs-assoc", victim, 5000);
			if (victim > 0 && n < sizeof(seen) / sizeof(seen[0]))
				seen[n++] = (struct mpbs_role){ .pid = victim, .comm = "mpbs-assoc" };
		}
	}
	int st = 0;
	cr_assert_eq(wait_exit(m.pid, 10000, &st), 0, "the supervisor did not stop after the budget ran out");
	m.pid = 0;
	pid_t alive = 0;
	bool gone = all_gone(seen, n, &alive);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "the supervisor exited %s %d, expected a non-zero status",
		  WIFEXITED(st) ? "with" : "by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	char *log = read_file(m.log, NULL);
	cr_assert_eq(file_count(m.log, "error: association: restart budget exhausted:"), 1, "no budget message; log:\n%s",
		     log);
	cr_assert_eq(file_count(m.log, "stopping the run"), 1, "log:\n%s", log);
	free(log);
	cr_assert(gone, "role pid %d still exists after the supervisor exited", (int)alive);
	cr_log_info("restart budget: supervisor exit status %d, %zu role pids seen, all gone", WEXITSTATUS(st), n);
}

/* -------------------------------------------------------------- hostile */

/* Posts well-formed requests on its own keep-alive connection every 20 ms
 * while hostile clients do their worst. */
struct prober {
	pthread_t thread;
	int port;
	atomic_bool stop;
	size_t ok, failed;
};

static void *prober_run(void *arg)
{
	struct prober *p = arg;
	int fd = -1;
	for (size_t i = 0; !atomic_load(&p->stop); i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "hostile-probe %zu", i);
		if (fd < 0)
			fd = http_connect(p->port);
		if (fd >= 0 && http_post_on(fd, "/nuvl", CTX, body, (size_t)len) == 204) {
			p->ok++;
		} else {
			p->failed++;
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		sleep_ms(20);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct hostile {
	struct prober prober;
	struct mpbs_role roles[MAX_ROLES];
	size_t n_roles;
	size_t extra_ok; /* well-formed requests of the test itself answered 204 */
};

static void hostile_start(struct hostile *h, const char *intermediary_keys)
{
	memset(h, 0, sizeof(*h));
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "cannot prepare a test directory");
	if (intermediary_keys)
		cr_assert_eq(topology_insert(m.topology, "intermediary", intermediary_keys), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	h->n_roles = snapshot_roles(h->roles);
	h->prober.port = m.port;
	atomic_init(&h->prober.stop, false);
	cr_assert_eq(pthread_create(&h->prober.thread, NULL, prober_run, &h->prober), 0);
	sleep_ms(100);
}

static bool same_roles(const struct hostile *h)
{
	struct mpbs_role now[MAX_ROLES];
	size_t n = snapshot_roles(now);
	if (n != h->n_roles)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = now[i].pid == h->roles[k].pid && strcmp(now[i].comm, h->roles[k].comm) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* The well-formed traffic went through untouched: every probe got 204, no
 * role died or was replaced, and after a clean stop every 204 is confirmed
 * exactly once. */
static void hostile_finish(struct hostile *h, const char *what)
{
	sleep_ms(200);
	atomic_store(&h->prober.stop, true);
	pthread_join(h->prober.thread, NULL);
	cr_assert(same_roles(h), "%s: a role was replaced (log: %s)", what, m.log);
	cr_assert_eq(log_deaths(), 0, "%s: a role died (log: %s)", what, m.log);
	int stopped = mpbs_stop(&m);
	char *log = stopped == 0 ? NULL : read_file(m.log, NULL);
	cr_assert_eq(stopped, 0, "%s: mpbs-run did not stop cleanly (status %d); log:\n%s", what, stopped, log);
	size_t confirmed = ledger_count(m.ledger, "confirmed");
	cr_log_info("%s: probes %zu ok, %zu failed; test's own 204s %zu; confirmed %zu (distinct %zu)", what,
		    h->prober.ok, h->prober.failed, h->extra_ok, confirmed,
		    ledger_count_distinct_op(m.ledger, "confirmed"));
	cr_assert_eq(h->prober.failed, 0, "%s: %zu well-formed probes got no 204", what, h->prober.failed);
	cr_assert_gt(h->prober.ok, 5, "%s: too few probes to judge (%zu)", what, h->prober.ok);
	cr_assert_eq(confirmed, h->prober.ok + h->extra_ok, "%s: %zu confirmed for %zu answered", what, confirmed,
		     h->prober.ok + h->extra_ok);
	cr_assert_eq(ledger_count_distinct_op(m.ledger, "confirmed"), confirmed, "%s: an op confirmed twice", what);
	assert_verify_passes();
}

/* A raw client connection with its own read buffer, so that several
 * responses arriving in one segment (pipelining, 100 Continue) are split. */
struct raw {
	int fd;
	size_t len;
	char buf[16384];
};

static int raw_open(struct raw *r, int port)
{
	r->len = 0;
	r->fd = http_connect(port);
	int one = 1;
	if (r->fd >= 0)
		setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return r->fd;
}

/* Sends everything it can; a server that closes early is not an error here. */
static int raw_send(struct raw *r, const void *bytes, size_t len)
{
	const char *p = bytes;
	while (len) {
		ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int raw_send_str(struct raw *r, const char *s)
{
	return raw_send(r, s, strlen(s));
}

/* A hostile test's start with one connection that sends request. */
static void hostile_send(struct hostile *h, struct raw *r, const char *request)
{
	hostile_start(h, NULL);
	cr_assert_geq(raw_open(r, m.port), 0);
	cr_assert_eq(raw_send_str(r, request), 0);
}

/* Status of the next response, 0 if the connection ended first. */
static int raw_status(struct raw *r)
{
	char *end;
	while (!(end = memmem(r->buf, r->len, "\r\n\r\n", 4))) {
		if (r->len == sizeof(r->buf))
			return 0;
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n <= 0)
			return 0;
		r->len += (size_t)n;
	}
	int status = 0;
	*end = '\0';
	if (sscanf(r->buf, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	const char *cl = strcasestr(r->buf, "\r\nContent-Length:");
	size_t used = (size_t)(end + 4 - r->buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
	used = used > r->len ? r->len : used;
	memmove(r->buf, r->buf + used, r->len - used);
	r->len -= used;
	return status;
}

/* Whether the server ends the connection within timeout_ms; what it still
 * sends is kept in the buffer while there is room (then dropped). */
static bool raw_closed_within(struct raw *r, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	for (uint64_t now = mono_ms(); now < deadline; now = mono_ms()) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return false;
		char sink[4096];
		bool keep = r->len < sizeof(r->buf);
		ssize_t n = keep ? recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, MSG_DONTWAIT)
				 : recv(r->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (n > 0 && keep)
			r->len += (size_t)n;
	}
	return false;
}

static void raw_close(struct raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static void post_text(char *out, size_t cap, const char *body)
{
	snprintf(out, cap,
		 "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX
		 "\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
}

/* Appends a well-formed POST with the body "what n" to buf, which holds
 * len bytes; returns the new length (pipelined requests). */
static size_t post_append(char *buf, size_t cap, size_t len, const char *what, int n)
{
	char body[64];
	snprintf(body, sizeof(body), "%s %d", what, n);
	post_text(buf + len, cap - len, body);
	return len + strlen(buf + len);
}

#define TRICKLERS 20

/* Sends one byte to every trickler still open; counts those found cut. */
static size_t trickle_round(struct raw *t, size_t n)
{
	size_t cut = 0;
	for (size_t i = 0; i < n; i++)
		if (t[i].fd >= 0 && raw_send_str(&t[i], "a") < 0) {
			raw_close(&t[i]);
			cut++;
		}
	return cut;
}

Test(e2e_hostile, slowloris_does_not_starve_well_formed_requests, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	static struct raw heads[TRICKLERS], bodies[TRICKLERS];
	struct raw stalled;
	/* Idle 2 s; a head within 3 s; a body within 3 s of its head. */
	hostile_start(&h, "timeout = 2\nheader_timeout = 3\nbody_timeout = 3\n");
	for (int i = 0; i < TRICKLERS; i++) {
		cr_assert_geq(raw_open(&heads[i], m.port), 0);
		cr_assert_eq(raw_send_str(&heads[i], "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Slow: "), 0);
		cr_assert_geq(raw_open(&bodies[i], m.port), 0);
		cr_assert_eq(raw_send_str(&bodies[i], "POST /nuvl HTTP/1.1\r\nHost: localhost\r\n"
						      "X-Verification-Context: " CTX "\r\nContent-Length: 4096\r\n\r\n"),
			     0);
	}
	cr_assert_geq(raw_open(&stalled, m.port), 0);
	cr_assert_eq(raw_send_str(&stalled, "POST /nuvl HTTP/1.1\r\nHo"), 0);
	uint64_t since = mono_ms();
	/* A byte every 500 ms on every trickler, for up to 10 s: the idle
	 * timeout never fires for them, their read deadlines must. */
	size_t heads_cut = 0, bodies_cut = 0;
	bool stalled_closed = false;
	uint64_t stalled_ms = 0, all_cut_ms = 0;
	for (int round = 0; round < 20 && (heads_cut + bodies_cut < 2 * TRICKLERS || !stalled_closed); round++) {
		if (stalled_closed)
			sleep_ms(500);
		else if ((stalled_closed = raw_closed_within(&stalled, 500)))
			stalled_ms = mono_ms() - since;
		heads_cut += trickle_round(heads, TRICKLERS);
		bodies_cut += trickle_round(bodies, TRICKLERS);
		if (heads_cut + bodies_cut == 2 * TRICKLERS && !all_cut_ms)
			all_cut_ms = mono_ms() - since;
	}
	for (int i = 0; i < TRICKLERS; i++) {
		raw_close(&heads[i]);
		raw_close(&bodies[i]);
	}
	raw_close(&stalled);
	cr_log_info("slowloris: the silent connection closed after %llu ms; head tricklers cut %zu/%d, body "
		    "tricklers cut %zu/%d, all cut after %llu ms (byte every 500 ms)",
		    (unsigned long long)stalled_ms, heads_cut, TRICKLERS, bodies_cut, TRICKLERS,
		    (unsigned long long)all_cut_ms);
	cr_assert(stalled_closed, "a silent connection outlived timeout = 2 for 10 s");
	cr_assert_eq(heads_cut, TRICKLERS, "a head trickled for 10 s outlived header_timeout = 3");
	cr_assert_eq(bodies_cut, TRICKLERS, "a body trickled for 10 s outlived body_timeout = 3");
	hostile_finish(&h, "slowloris");
}

#define IDLE_CONNECTIONS 10000

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit NOFILE %llu: %s", (unsigned long long)want,
		     strerror(errno));
}

Test(e2e_hostile, thousands_of_idle_connections, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	static int idle[IDLE_CONNECTIONS];
	/* Before the start: the supervisor and its roles inherit the limit. */
	raise_nofile(IDLE_CONNECTIONS + 1024);
	hostile_start(&h, "max_connections = 11000\n");
	size_t opened = 0;
	for (; opened < IDLE_CONNECTIONS; opened++)
		if ((idle[opened] = http_connect(m.port)) < 0)
			break;
	sleep_ms(1000);
	/* Held, not refused: a connection over the cap would be closed. */
	size_t dropped = 0;
	for (size_t i = 0; i < opened; i++) {
		struct pollfd pfd = { .fd = idle[i], .events = POLLIN | POLLRDHUP };
		dropped += poll(&pfd, 1, 0) > 0;
	}
	for (int i = 0; i < 20; i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "fresh connection beside idle ones %d", i);
		if (http_post(m.port, "/nuvl", CTX, NULL, body, (size_t)len) == 204)
			h.extra_ok++;
	}
	for (size_t i = 0; i < opened; i++)
		close(idle[i]);
	cr_log_info("idle connections: %zu opened, %zu of them closed by the server; %zu of 20 fresh-connection "
		    "POSTs got 204", opened, dropped, h.extra_ok);
	cr_assert_eq(opened, IDLE_CONNECTIONS, "only %zu idle connections could be opened", opened);
	cr_assert_eq(dropped, 0, "the server closed %zu of the idle connections within 1 s", dropped);
	cr_assert_eq(h.extra_ok, 20, "fresh connections got %zu of 20 answers beside the idle ones", h.extra_ok);
	hostile_finish(&h, "idle connections");
}

Test(e2e_hostile, oversized_header_is_refused, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	struct raw r;
	size_t big = 64 * 1024;
	char *req = malloc(big + 256);
	cr_assert_not_null(req);
	int n = snprintf(req, 256, "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX "\r\nX-Big: ");
	memset(req + n, 'b', big);
	snprintf(req + (size_t)n + big, 256, "\r\nContent-Length: 2\r\n\r\nhi");
	hostile_start(&h, NULL);
	cr_assert_geq(raw_open(&r, m.port), 0);
	raw_send(&r, req, strlen(req));
	int status = raw_status(&r);
	bool closed = raw_closed_within(&r, 3000);
	raw_close(&r);
	free(req);
	cr_log_info("oversized header (64 KiB line): status %d, connection %s", status, closed ? "closed" : "open");
	cr_assert(status == 0 || (status >= 400 && status < 500), "a 64 KiB header got status %d", status);
	cr_assert(closed, "the connection stayed open after a 64 KiB header");
	hostile_finish(&h, "oversized header");
}

Test(e2e_hostile, garbage_bytes_get_400_and_a_close, .init = need_root, .fini = finish, .timeout = 60)
{
	static const char *const crafted[] = {
		"GET\x01/nuvl HTTP/1.1\r\n\r\n",
		"POST /nuvl HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
		"POST /nuvl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"POST /nuvl HTTP/1.1\r\nHost : localhost\r\nContent-Length: 0\r\n\r\n",
		"POST /nuvl HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	};
	struct hostile h;
	struct raw r;
	char noise[4096 + 4];
	hostile_start(&h, NULL);
	randombytes_buf(noise, 4096);
	memcpy(noise + 4096, "\r\n\r\n", 4);
	for (size_t i = 0; i <= sizeof(crafted) / sizeof(crafted[0]); i++) {
		cr_assert_geq(raw_open(&r, m.port), 0);
		if (i == 0)
			raw_send(&r, noise, sizeof(noise));
		else
			raw_send_str(&r, crafted[i - 1]);
		int status = raw_status(&r);
		bool closed = raw_closed_within(&r, 3000);
		raw_close(&r);
		cr_log_info("garbage %zu: status %d, connection %s", i, status, closed ? "closed" : "open");
		cr_assert(status == 400 || status == 0, "garbage %zu got status %d, expected 400", i, status);
		cr_assert(closed, "garbage %zu: the connection stayed open", i);
	}
	hostile_finish(&h, "garbage bytes");
}

/* Sends a request cut short, half-closes, and returns how long the server
 * took to end the connection (-1: not within timeout_ms); *status is the
 * status of any response it sent first (0 if none). */
static long half_close_after(const char *partial, int timeout_ms, int *status)
{
	struct raw r;
	cr_assert_geq(raw_open(&r, m.port), 0);
	cr_assert_eq(raw_send_str(&r, partial), 0);
	cr_assert_eq(shutdown(r.fd, SHUT_WR), 0);
	uint64_t since = mono_ms();
	bool closed = raw_closed_within(&r, timeout_ms);
	long took = closed ? (long)(mono_ms() - since) : -1;
	*status = r.len ? raw_status(&r) : 0;
	raw_close(&r);
	return took;
}

Test(e2e_hostile, half_closed_socket_is_closed, .init = need_root, .fini = finish, .timeout = 60)
{
	static const struct {
		const char *what, *bytes;
		int want; /* status of the answer owed before the close, 0: none */
	} cut[] = {
		{ "in the header", "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Co", 0 },
		{ "in the body", "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX
				 "\r\nContent-Length: 10\r\n\r\nabc", 0 },
		{ "after a whole request", "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX
					  "\r\nContent-Length: 4\r\n\r\nlast", 204 },
		{ "before sending anything", "", 0 },
	};
	enum { N = sizeof(cut) / sizeof(cut[0]) };
	int status[N];
	long took[N];
	struct hostile h;
	/* Every timeout at 10 s: a close within 2 s is the half-close seen as
	 * such, not a timeout. */
	hostile_start(&h, "timeout = 10\nheader_timeout = 10\nbody_timeout = 10\n");
	/* All measured before any assertion, so a failure reports all. */
	for (size_t i = 0; i < N; i++) {
		took[i] = half_close_after(cut[i].bytes, 2000, &status[i]);
		cr_log_info("half-closed %s: status %d, server closed %s %ld ms", cut[i].what, status[i],
			    took[i] >= 0 ? "after" : "NOT within", took[i] >= 0 ? took[i] : 2000L);
	}
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(status[i], cut[i].want, "half-closed %s: status %d, want %d", cut[i].what, status[i],
			     cut[i].want);
		cr_assert_geq(took[i], 0, "the server kept a connection half-closed %s open for 2 s", cut[i].what);
	}
	for (size_t i = 0; i < N; i++)
		h.extra_ok += status[i] == 204; /* must be confirmed like the probes */
	hostile_finish(&h, "half-closed socket");
}

Test(e2e_hostile, pipelined_requests_each_get_204, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	struct raw r;
	char one[256], all[1024] = "";
	hostile_start(&h, NULL);
	for (int i = 0; i < 3; i++) {
		char body[32];
		snprintf(body, sizeof(body), "pipelined %d", i);
		post_text(one, sizeof(one), body);
		strcat(all, one);
	}
	cr_assert_geq(raw_open(&r, m.port), 0);
	cr_assert_eq(raw_send_str(&r, all), 0);
	for (int i = 0; i < 3; i++) {
		int status = raw_status(&r);
		cr_assert_eq(status, 204, "pipelined request %d got status %d", i, status);
		h.extra_ok++;
	}
	raw_close(&r);
	hostile_finish(&h, "pipelining");
}

Test(e2e_hostile, expect_100_continue_then_204, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	struct raw r;
	hostile_send(&h, &r, "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX
			     "\r\nExpect: 100-continue\r\nContent-Length: 13\r\n\r\n");
	int interim = raw_status(&r);
	cr_assert_eq(interim, 100, "Expect: 100-continue got %d first", interim);
	cr_assert_eq(raw_send_str(&r, "after expect!"), 0);
	int status = raw_status(&r);
	cr_assert_eq(status, 204, "the body after 100 Continue got %d", status);
	h.extra_ok++;
	raw_close(&r);
	hostile_finish(&h, "100-continue");
}

Test(e2e_hostile, chunked_body_is_confirmed, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	struct raw r;
	hostile_send(&h, &r, "POST /nuvl HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " CTX
			     "\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "7\r\nchunked\r\n6\r\n body \r\n0\r\n\r\n");
	int status = raw_status(&r);
	cr_assert_eq(status, 204, "a chunked POST got %d", status);
	h.extra_ok++;
	raw_close(&r);
	hostile_finish(&h, "chunked body");
}

/* max_connections_per_ip: a connection over the cap is closed at once
 * (the prober holds one of the five from 127.0.0.1), the ones held keep
 * working, and a slot freed is taken again. */
Test(e2e_hostile, connections_over_the_per_address_cap_are_closed_at_once, .init = need_root, .fini = finish,
     .timeout = 60)
{
	enum { CAP = 5, HELD = CAP - 1 };
	struct hostile h;
	struct raw held[HELD], over, again;
	char req[256];
	hostile_start(&h, "max_connections_per_ip = 5\n");
	for (int i = 0; i < HELD; i++)
		cr_assert_geq(raw_open(&held[i], m.port), 0);
	sleep_ms(200); /* all accepted before the one over the cap */
	cr_assert_geq(raw_open(&over, m.port), 0);
	bool over_closed = raw_closed_within(&over, 2000);
	raw_close(&over);
	post_text(req, sizeof(req), "on a held connection");
	cr_assert_eq(raw_send_str(&held[0], req), 0);
	int held_status = raw_status(&held[0]);
	h.extra_ok += held_status == 204;
	raw_close(&held[1]);
	sleep_ms(200);
	cr_assert_geq(raw_open(&again, m.port), 0);
	post_text(req, sizeof(req), "on a freed slot");
	cr_assert_eq(raw_send_str(&again, req), 0);
	int again_status = raw_status(&again);
	h.extra_ok += again_status == 204;
	raw_close(&again);
	for (int i = 0; i < HELD; i++)
		raw_close(&held[i]);
	cr_log_info("per-address cap 5: the connection over it %s; a held one got %d; one in a freed slot got %d",
		    over_closed ? "closed at once" : "NOT closed", held_status, again_status);
	cr_assert(over_closed, "a connection over max_connections_per_ip stayed open for 2 s");
	cr_assert_eq(held_status, 204);
	cr_assert_eq(again_status, 204, "a slot freed by a close was not given to a new connection");
	hostile_finish(&h, "per-address cap");
}

#define PIPELINED 600

/* A client that sends hundreds of pipelined requests without reading any
 * answer: more than a connection may owe (it is not read until its answers
 * are written) and more runs of different answers than it holds (every
 * 7th a GET, 405; every 11th another path, 404). Every answer comes, in
 * order, and every 204 is confirmed once. */
Test(e2e_hostile, pipelining_without_reading_gets_every_answer_in_order, .init = need_root, .fini = finish,
     .timeout = 60)
{
	struct hostile h;
	struct raw r;
	static char all[PIPELINED * 200];
	static int want[PIPELINED];
	size_t len = 0;
	for (int i = 0; i < PIPELINED; i++) {
		if (i % 7 == 3) {
			len += (size_t)snprintf(all + len, sizeof(all) - len, "GET /nuvl HTTP/1.1\r\nHost: x\r\n\r\n");
			want[i] = 405;
		} else if (i % 11 == 5) {
			len += (size_t)snprintf(all + len, sizeof(all) - len,
						"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
			want[i] = 404;
		} else {
			len = post_append(all, sizeof(all), len, "pipelined unread", i);
			want[i] = 204;
		}
	}
	hostile_start(&h, NULL);
	cr_assert_geq(raw_open(&r, m.port), 0);
	cr_assert_eq(raw_send(&r, all, len), 0, "the server stopped reading for good");
	int wrong = -1, got = 0;
	for (int i = 0; i < PIPELINED; i++) {
		int status = raw_status(&r);
		if (status != want[i] && wrong < 0)
			wrong = i, got = status;
		h.extra_ok += status == 204;
	}
	raw_close(&r);
	cr_assert_eq(wrong, -1, "answer %d was %d, expected %d", wrong, got, wrong >= 0 ? want[wrong] : 0);
	hostile_finish(&h, "pipelining without reading");
}

/* Answers that the review found could go wrong, on one connection each:
 * - a chunked body's trailer is not a header: a context in it is not the
 *   request's (a second context would drop it), and after a 404 it must
 *   not become the next request's context;
 * - a request with Expect: 100-continue after seven runs of different
 *   answers needs two more runs (100, then 204): every answer still comes;
 * - an Upgrade request that is also the one the parser pauses at (the
 *   256th pipelined): the connection closes after its answer and the bytes
 *   after it are never forwarded. */
Test(e2e_hostile, trailers_expect_after_many_runs_and_a_paused_upgrade, .init = need_root, .fini = finish,
     .timeout = 60)
{
	struct hostile h;
	struct raw r;
	static char big[300 * 200];
	char one[256];
	hostile_send(&h, &r, "POST /nuvl HTTP/1.1\r\nHost: x\r\nX-Verification-Context: " CTX
			     "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
			     "X-Verification-Context: not-the-context\r\n\r\n"
			     "POST /elsewhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "2\r\nhi\r\n0\r\nX-Verification-Context: " CTX "\r\n\r\n"
			     "POST /nuvl HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nno context");
	int trailer_status = raw_status(&r), notfound_status = raw_status(&r), bare_status = raw_status(&r);
	raw_close(&r);
	h.extra_ok += trailer_status == 204; /* the header's context: confirmed */
	/* the context-less POST gets 204 and, with the empty context, no confirmation */

	cr_assert_geq(raw_open(&r, m.port), 0);
	size_t len = 0;
	for (int i = 0; i < 7; i++) {
		if (i % 2)
			len += (size_t)snprintf(big + len, sizeof(big) - len,
						"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
		else
			len = post_append(big, sizeof(big), len, "run", i);
	}
	len += (size_t)snprintf(big + len, sizeof(big) - len,
				"POST /nuvl HTTP/1.1\r\nHost: x\r\nX-Verification-Context: " CTX
				"\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\nexpect");
	cr_assert_eq(raw_send(&r, big, len), 0);
	int runs_bad = -1, runs_got = 0;
	const int runs_want[] = { 204, 404, 204, 404, 204, 404, 204, 100, 204 };
	for (int i = 0; i < 9; i++) {
		int status = raw_status(&r);
		if (status != runs_want[i] && runs_bad < 0)
			runs_bad = i, runs_got = status;
		h.extra_ok += status == 204;
	}
	raw_close(&r);

	cr_assert_geq(raw_open(&r, m.port), 0);
	len = 0;
	for (int i = 0; i < 255; i++)
		len = post_append(big, sizeof(big), len, "before upgrade", i);
	len += (size_t)snprintf(big + len, sizeof(big) - len,
				"POST /nuvl HTTP/1.1\r\nHost: x\r\nX-Verification-Context: " CTX
				"\r\nUpgrade: other\r\nConnection: upgrade\r\nContent-Length: 7\r\n\r\nupgrade");
	post_text(one, sizeof(one), "smuggled after the upgrade");
	len += (size_t)snprintf(big + len, sizeof(big) - len, "%s", one);
	cr_assert_eq(raw_send(&r, big, len), 0);
	int upgrade_bad = -1;
	for (int i = 0; i < 256; i++) {
		int status = raw_status(&r);
		if (status != 204 && upgrade_bad < 0)
			upgrade_bad = i;
		h.extra_ok += status == 204;
	}
	bool closed = raw_closed_within(&r, 3000);
	int after = r.len ? raw_status(&r) : 0;
	raw_close(&r);

	cr_log_info("trailer %d, 404 with trailer %d, then no context %d; runs: first wrong %d (%d); upgrade: first "
		    "wrong %d, closed %d, after it %d",
		    trailer_status, notfound_status, bare_status, runs_bad, runs_got, upgrade_bad, closed, after);
	cr_assert_eq(trailer_status, 204);
	cr_assert_eq(notfound_status, 404);
	cr_assert_eq(bare_status, 204);
	cr_assert_eq(runs_bad, -1, "answer %d was %d", runs_bad, runs_got);
	cr_assert_eq(upgrade_bad, -1, "answer %d of 256 before the upgrade was not 204", upgrade_bad);
	cr_assert(closed, "the connection stayed open after the Upgrade request's answer");
	cr_assert_eq(after, 0, "an answer came after the Upgrade request's");
	/* hostile_finish: confirmed == the 204s counted above + probes, so the
	 * trailer's request counts once, the context-less one and the smuggled
	 * one not at all */
	hostile_finish(&h, "trailers, runs and upgrade");
}

struct big_sender {
	pthread_t thread;
	int port;
	atomic_size_t answered;
	atomic_bool stop;
};

static void *big_sender_run(void *arg)
{
	struct big_sender *s = arg;
	static char body[60000];
	int fd = http_connect(s->port);
	for (int i = 0; fd >= 0 && i < 200 && !atomic_load(&s->stop); i++) {
		snprintf(body, sizeof(body), "large body %d ", i);
		if (http_post_on(fd, "/nuvl", CTX, body, sizeof(body)) != 204)
			break;
		atomic_fetch_add(&s->answered, 1);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A stop while a provider's channel is congested: the intermediary's wait
 * for the channel ends with the stop (its stop signal is already read, so
 * the wait must not wait for it), and the run stops cleanly once the
 * provider runs again, instead of the intermediary waiting out
 * stall_timeout and being killed at the drain deadline. */
Test(e2e_faults, a_stop_does_not_wait_for_a_congested_channel, .init = need_root, .fini = finish, .timeout = 90)
{
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0);
	cr_assert_eq(topology_insert(m.topology, "intermediary", "stall_timeout = 60000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	pid_t a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(a, 0);
	cr_assert_eq(kill(a, SIGSTOP), 0);
	struct big_sender s = { .port = m.port };
	atomic_init(&s.answered, 0);
	atomic_init(&s.stop, false);
	cr_assert_eq(pthread_create(&s.thread, NULL, big_sender_run, &s), 0);
	/* until the intermediary holds requests back: answers stop coming */
	size_t before = 0;
	for (int i = 0; i < 100; i++) {
		sleep_ms(100);
		size_t now = atomic_load(&s.answered);
		if (now > 0 && now == before)
			break;
		before = now;
	}
	pid_t im = mpbs_role_pid(&m, "mpbs-int");
	cr_assert_gt(im, 0);
	uint64_t t0 = mono_ms();
	cr_assert_eq(kill(m.pid, SIGTERM), 0);
	/* The intermediary's drain gives up on unfinished requests after 2 s;
	 * it must be gone while provider A is still stopped. */
	uint64_t im_gone_ms = 0;
	for (int i = 0; i < 40 && !im_gone_ms; i++) {
		sleep_ms(100);
		if (kill(im, 0) < 0 && errno == ESRCH)
			im_gone_ms = mono_ms() - t0;
	}
	cr_assert_eq(kill(a, SIGCONT), 0);
	int status = 0;
	int waited = wait_exit(m.pid, 30000, &status);
	uint64_t took = mono_ms() - t0;
	atomic_store(&s.stop, true);
	pthread_join(s.thread, NULL);
	if (waited == 0)
		m.pid = 0;
	char *log = read_file(m.log, NULL);
	cr_log_info("stop with a congested channel: %zu large POSTs answered before; the intermediary gone after %llu "
		    "ms (0: not within 4 s); the run stopped after %llu ms, status 0x%x",
		    before, (unsigned long long)im_gone_ms, (unsigned long long)took, status);
	cr_assert_gt(im_gone_ms, 0, "the intermediary still waited for the congested channel 4 s after the stop:\n%s",
		     log);
	cr_assert_eq(waited, 0, "mpbs-run did not stop within 30 s");
	cr_assert(!strstr(log, "did not stop within"), "a role had to be killed at the stop:\n%s", log);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x:\n%s", status, log);
	free(log);
}

/* A client that asks to close gets its 204 with Connection: close, then
 * the close: a client library that keeps connections reads the header and
 * does not send its next request into a connection about to end (wrk
 * counted hundreds of thousands of read errors before it was said). */
Test(e2e_hostile, a_closing_answer_says_connection_close, .init = need_root, .fini = finish, .timeout = 60)
{
	struct hostile h;
	struct raw r;
	hostile_send(&h, &r, "POST /nuvl HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Verification-Context: " CTX
			     "\r\nContent-Length: 5\r\n\r\nclose");
	bool closed = raw_closed_within(&r, 3000);
	r.buf[r.len < sizeof(r.buf) ? r.len : sizeof(r.buf) - 1] = '\0';
	bool says_close = strstr(r.buf, "\r\nConnection: close\r\n") != NULL;
	int status = raw_status(&r);
	raw_close(&r);
	h.extra_ok += status == 204;
	cr_assert_eq(status, 204);
	cr_assert(says_close, "the answer before the close lacks Connection: close");
	cr_assert(closed, "the connection stayed open after Connection: close");
	hostile_finish(&h, "closing answer");
}
