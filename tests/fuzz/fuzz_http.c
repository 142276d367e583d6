/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the bytes a requester sends, through the intermediary's
 * real connection handling and HTTP parsing (conn.c, http.c with
 * libhttp-parser, channels.c, set up through intermediary_internal.h and
 * driven by intermediary_turn, the role's own loop turn) on a loopback TCP
 * connection. Every artifact it writes to the provider channels must
 * decode, carry the request_repr and binding derived from its own body and
 * context, and go to both providers; the client must receive nothing but
 * the fixed answers, and never a 204 before the artifact of its request is
 * in the channels; once the client is gone no connection and no request may
 * be left. ASan and UBSan watch the rest. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/wire.h"
#include "../../roles/intermediary/intermediary_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROVIDERS 2
#define INPUT_MAX 65536
#define RUNS_MAX 256

static struct intermediary im = { .ep = -1 };
static struct intermediary_config cfg;
static bool ready;
static int provider_ends[PROVIDERS];
static struct sockaddr_in server;
static size_t artifacts_checked;

static _Noreturn void die(const char *what)
{
	perror(what);
	abort();
}

/* A broken invariant: named, so a finding says which. */
static _Noreturn void violated(const char *what)
{
	fprintf(stderr, "fuzz_http: violated: %s\n", what);
	abort();
}

static void listener_open(int *fd)
{
	socklen_t len = sizeof(server);
	server = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&server, sizeof(server)) < 0 || listen(*fd, 64) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&server, &len) < 0)
		die("listener");
}

/* So a run shows the target reached the forwarding path at all. */
static void report(void)
{
	fprintf(stderr, "fuzz_http: %" PRIu64 " requests completed, %zu artifacts checked\n", im.requests,
		artifacts_checked);
}

/* The intermediary as intermediary_main sets it up, minus the seal and the
 * stop signalfd. */
static void setup(void)
{
	static int artifact_fds[PROVIDERS];
	static const bool receive_body[PROVIDERS] = { true, false };
	for (int i = 0; i < PROVIDERS; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		artifact_fds[i] = sv[0];
		provider_ends[i] = sv[1];
	}
	cfg = (struct intermediary_config){ .n_providers = PROVIDERS, .artifact_fds = artifact_fds,
					    .receive_body = receive_body, .path = "/nuvl", .max_request = 4096,
					    .max_connections = 64, .max_connections_per_ip = 8, .timeout_s = 5,
					    .header_timeout_s = 5, .body_timeout_s = 5, .stall_ms = 100,
					    .status_fd = -1 };
	listener_open(&cfg.listen_fd);
	if (!intermediary_open(&im, &cfg, -1))
		die("intermediary_open");
	ready = true;
	atexit(report);
}

/* One turn of the role's loop, without waiting. */
static void turn(void)
{
	if (intermediary_turn(&im, -1, 0) < 0)
		violated("a loop turn failed");
}

/* Checks one artifact as a provider would receive it. */
static void check_artifact(const uint8_t *frame, size_t len, bool with_body)
{
	struct artifact a;
	uint8_t repr[WIRE_DIGEST_LEN], binding[WIRE_DIGEST_LEN];
	if (artifact_decode(frame, len, &a) != WIRE_OK || a.has_body != with_body)
		violated("an artifact does not decode, or its body flag is wrong");
	if (with_body) {
		derive_request_repr(a.body, a.body_len, repr);
		if (memcmp(repr, a.request_repr, sizeof(repr)) != 0)
			violated("request_repr is not SHA-256 of the body");
	}
	derive_binding(a.request_repr, a.context, a.context_len, binding);
	if (memcmp(binding, a.binding, sizeof(binding)) != 0)
		violated("binding is not derived from request_repr and context");
}

/* Reads what each provider got; both must get the same number of frames.
 * Returns how many. */
static size_t check_channels(void)
{
	static uint8_t frame[ARTIFACT_FRAME_MAX(WIRE_BODY_MAX)];
	size_t count[PROVIDERS] = { 0 };
	for (int i = 0; i < PROVIDERS; i++) {
		ssize_t n;
		while ((n = recv(provider_ends[i], frame, sizeof(frame), MSG_DONTWAIT)) > 0) {
			/* one message: whole frames back to back */
			for (size_t off = 0, len; off < (size_t)n; off += len) {
				len = artifact_frame_len(frame + off, (size_t)n - off);
				if (len == 0 || len > (size_t)n - off)
					violated("an artifact message does not split into whole frames");
				check_artifact(frame + off, len, i == 0);
				count[i]++;
				artifacts_checked++;
			}
		}
	}
	if (count[0] != count[1])
		violated("the two providers got different numbers of artifacts");
	return count[0];
}

/* What the client received, matched against the fixed answers as it
 * arrives; counts the 204s. */
struct received {
	char pending[256]; /* the start of an answer not yet whole */
	size_t len;
	size_t no_content;
};

static void receive(struct received *rx, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rx->len == sizeof(rx->pending))
			violated("the client received bytes that are no fixed answer");
		rx->pending[rx->len++] = data[i];
		bool prefix = false;
		for (int a = 0; a < ANSWERS; a++) {
			size_t alen;
			const char *text = answer_text((enum answer)a, &alen);
			if (rx->len <= alen && memcmp(text, rx->pending, rx->len) == 0) {
				prefix = true;
				if (rx->len == alen) {
					rx->no_content += a == ANSWER_NO_CONTENT || a == ANSWER_NO_CONTENT_KEEP_ALIVE ||
							  a == ANSWER_NO_CONTENT_CLOSE;
					rx->len = 0;
				}
				break;
			}
		}
		if (!prefix)
			violated("the client received bytes that are no fixed answer");
	}
}

/* Reads what the server sent; true once it closed the connection. */
static bool client_drained(int fd, struct received *rx)
{
	char sink[4096];
	ssize_t n;
	while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		receive(rx, sink, (size_t)n);
	return n == 0 || (n < 0 && errno != EAGAIN);
}

/* libFuzzer's -timeout timer sends SIGALRM without SA_RESTART, so a
 * blocking connect can return EINTR while the handshake goes on (CI saw
 * it once in 22,000 inputs). The attempt then finishes on its own; the
 * loop turns meanwhile, as it is the one that accepts. */
static int client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
		return fd;
	if (errno != EINTR)
		die("connect");
	for (int run = 0; run < RUNS_MAX; run++) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 10) == 1) {
			int err = 0;
			socklen_t len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				die("getsockopt SO_ERROR");
			if (err != 0) {
				errno = err;
				die("connect after EINTR");
			}
			return fd;
		}
		turn();
	}
	die("connect after EINTR: no handshake");
}

/* The 204s the client has must not outrun the artifacts in the channels:
 * every 204 is of a request forwarded (its artifact written first) or
 * dropped (oversize body, context or token over its maximum). */
static void check_order(const struct received *rx, size_t artifacts, uint64_t dropped)
{
	if (rx->no_content > artifacts + dropped)
		violated("a 204 reached the client before its artifact was written");
}

static uint64_t dropped_now(void)
{
	return im.oversize + im.bad_header;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size > INPUT_MAX)
		return 0;
	int fd = client_connect();
	int sndbuf = 4 * INPUT_MAX;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (size && send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)size)
		die("send");
	struct received rx = { .len = 0 };
	size_t artifacts = 0;
	uint64_t dropped0 = dropped_now();
	/* Until the server ends the connection or the runs are used up, the
	 * client reading its answers after every turn. Then the client
	 * half-closes, which the server must see at once, and closes. */
	for (int run = 0, quiet = 0; run < RUNS_MAX && quiet < 4 && !client_drained(fd, &rx); run++) {
		size_t before = rx.no_content + rx.len + artifacts;
		turn();
		artifacts += check_channels();
		check_order(&rx, artifacts, dropped_now() - dropped0);
		quiet = before == rx.no_content + rx.len + artifacts && !im.dirty && !im.resume ? quiet + 1 : 0;
	}
	if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
		die("shutdown");
	for (int run = 0; run < RUNS_MAX && !client_drained(fd, &rx); run++) {
		turn();
		artifacts += check_channels();
		check_order(&rx, artifacts, dropped_now() - dropped0);
	}
	close(fd);
	for (int run = 0; run < RUNS_MAX && (im.n_conns > 0 || im.in_flight > 0); run++)
		turn();
	/* A connection still open here owes nothing and waits for a deadline
	 * (a lingering close whose peer is gone reads its end at once, so
	 * none should); every armed deadline expires now, through the role's
	 * own cut, and then nothing may be left. */
	if (im.n_conns > 0 || im.in_flight > 0) {
		conns_expire(&im, UINT64_MAX);
		for (int run = 0; run < RUNS_MAX && (im.n_conns > 0 || im.in_flight > 0); run++)
			turn();
	}
	artifacts += check_channels();
	check_order(&rx, artifacts, dropped_now() - dropped0);
	if (im.in_flight != 0)
		violated("a request is still in flight after the client left");
	if (im.n_conns != 0)
		violated("a connection is still open after the client left");
	return 0;
}
