#define _GNU_SOURCE
/* The intermediary. Everything it learns about a request is gone once the
 * 204 is queued: the body buffer is freed by the completion callback, and
 * nothing it could read back from a provider exists (the artifact channels
 * are write-only at the kernel, docs/ARCHITECTURE.md §2). */
#include "intermediary.h"

#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "deadline.h"
#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "../role.h"
#include "../../lib/wire.h"

#define HDR_CONTEXT "X-Verification-Context"
#define HDR_TOKEN "X-Provider-Token"
#define REQ_INLINE 1024

struct forward_stats {
	uint64_t forwarded;     /* artifacts written, all providers */
	uint64_t dropped_full;  /* a provider's channel was full: only its copy dropped */
	uint64_t failed;        /* any other send error */
	bool stuck;             /* full for stall_ms: not waited for until it drains (wait_for_channels) */
};

/* How long a stop waits for requests under way. */
#define DRAIN_MS 2000
/* Connections whose peer half-closed, handled per loop turn; more wait for
 * their deadline. */
#define PEER_DONE_MAX 64

struct intermediary {
	const struct intermediary_config *cfg;
	struct pollfd *channels;           /* one per provider, POLLOUT; then the stop signalfd */
	struct pollfd *wait_fds;           /* the channels a congestion wait is for, then the stop signalfd */
	size_t *blocking;                  /* their provider indices */
	uint64_t stalls;                   /* times it held requests back */
	struct MHD_Response *no_content;   /* 204, shared by every answer */
	struct MHD_Response *not_found;
	struct MHD_Response *not_allowed;
	struct MHD_Response *bad_request; /* sent with Connection: close */
	uint64_t requests, oversize, bad_header, timed_out;
	struct deadlines deadlines;        /* of every open connection */
	int ep;                            /* the role's epoll set, -1 before serve */
	struct conn *peer_done[PEER_DONE_MAX]; /* reported by EPOLLRDHUP, not yet acted on */
	size_t n_peer_done;
	uint64_t half_closed;              /* connections closed for it */
	unsigned in_flight;                /* requests begun and not yet completed */
	struct request *free_requests;     /* the pool (request_new) */
	size_t n_free_requests;
	struct forward_stats *per_provider;
};

/* What the intermediary keeps per connection, never per request. */
struct conn {
	struct deadline deadline; /* first member: expiry hands it back */
	int fd;
	bool peer_done; /* EPOLLRDHUP seen: the peer will send nothing more */
	bool answered;  /* a response to the current request is queued */
};

/* One request in flight: a growing body buffer, freed when MHD completes it. */
struct request {
	struct request *next_free;  /* in the intermediary's pool when unused */
	size_t len, cap;
	bool oversize;
	uint8_t *body;
	uint8_t inline_buf[REQ_INLINE];
};

/* Requests come from a small pool, so the steady state allocates nothing
 * per request; a body that outgrew the inline buffer is freed at once. */
#define REQUEST_POOL_MAX 256

static struct request *request_new(struct intermediary *im)
{
	struct request *r = im->free_requests;
	if (r) {
		im->free_requests = r->next_free;
		im->n_free_requests--;
	} else if (!(r = malloc(sizeof(*r)))) {
		return NULL;
	}
	r->len = 0;
	r->cap = REQ_INLINE;
	r->oversize = false;
	r->body = r->inline_buf;
	return r;
}

static void request_free(struct intermediary *im, struct request *r)
{
	if (r->body != r->inline_buf)
		free(r->body);
	if (im->n_free_requests == REQUEST_POOL_MAX) {
		free(r);
		return;
	}
	r->next_free = im->free_requests;
	im->free_requests = r;
	im->n_free_requests++;
}

static void request_pool_free(struct intermediary *im)
{
	while (im->free_requests) {
		struct request *r = im->free_requests;
		im->free_requests = r->next_free;
		free(r);
	}
	im->n_free_requests = 0;
}

/* Appends a chunk; past max the body is marked oversize and discarded. */
static void request_append(struct request *r, const char *data, size_t n, size_t max)
{
	if (r->oversize)
		return;
	if (n > max - r->len) {
		r->oversize = true;
		return;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		uint8_t *nb = r->body == r->inline_buf ? malloc(cap) : realloc(r->body, cap);
		if (!nb) {
			r->oversize = true; /* dropped like an oversize body: still 204 */
			return;
		}
		if (r->body == r->inline_buf)
			memcpy(nb, r->inline_buf, r->len);
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
}

static void forward_one(struct intermediary *im, size_t i, struct msghdr *msg)
{
	ssize_t n;
	do
		n = sendmsg(im->cfg->artifact_fds[i], msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		im->per_provider[i].forwarded++;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		im->per_provider[i].dropped_full++;
	} else {
		if (im->per_provider[i].failed++ == 0)
			log_errno("artifact channel %zu", i);
	}
}

/* Derives the artifact and writes it to every provider: one header with the
 * body and one without, the body itself never copied. */
static void forward(struct intermediary *im, const struct request *r, const char *ctx, size_t ctx_len,
		    const char *tok, size_t tok_len)
{
	struct artifact a = {
		.context = ctx, .context_len = ctx_len,
		.token = tok, .token_len = tok_len,
		.has_body = true, .body = r->body, .body_len = r->len,
	};
	uint8_t hdr_body[ARTIFACT_HDR_LEN], hdr_bare[ARTIFACT_HDR_LEN];

	derive_request_repr(r->body, r->len, a.request_repr);
	derive_binding(a.request_repr, ctx, ctx_len, a.binding);
	randombytes_buf(a.correlation, sizeof(a.correlation));
	artifact_header_encode(&a, true, hdr_body);
	artifact_header_encode(&a, false, hdr_bare);

	struct iovec iov_body[4] = {
		{ hdr_body, sizeof(hdr_body) }, { (void *)ctx, ctx_len },
		{ (void *)tok, tok_len }, { r->body, r->len },
	};
	struct iovec iov_bare[3] = {
		{ hdr_bare, sizeof(hdr_bare) }, { (void *)ctx, ctx_len }, { (void *)tok, tok_len },
	};
	for (size_t i = 0; i < im->cfg->n_providers; i++) {
		struct msghdr msg = { 0 };
		msg.msg_iov = im->cfg->receive_body[i] ? iov_body : iov_bare;
		msg.msg_iovlen = im->cfg->receive_body[i] ? 4 : 3;
		forward_one(im, i, &msg);
	}
	sodium_memzero(&a, sizeof(a));
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* libmicrohttpd reads a connection edge-triggered and takes a short read
 * as "drained", so a FIN that arrived together with the last bytes is seen
 * only at the timeout. The role's own epoll set therefore watches every
 * connection for EPOLLRDHUP (see close_half_closed). */
static void watch_peer(struct intermediary *im, struct conn *cn)
{
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET, .data.ptr = cn };
	if (im->ep >= 0 && epoll_ctl(im->ep, EPOLL_CTL_ADD, cn->fd, &ev) < 0)
		log_errno("epoll_ctl: watch a connection");
}

static void peer_done_forget(struct intermediary *im, struct conn *cn)
{
	for (size_t i = 0; i < im->n_peer_done; i++)
		if (im->peer_done[i] == cn) {
			im->peer_done[i] = im->peer_done[--im->n_peer_done];
			return;
		}
}

static void peer_done_note(struct intermediary *im, struct conn *cn)
{
	if (!cn->peer_done && im->n_peer_done < PEER_DONE_MAX) {
		cn->peer_done = true;
		im->peer_done[im->n_peer_done++] = cn;
	}
}

/* After libmicrohttpd has run: a connection whose peer sent its FIN, that
 * owes no answer (between requests, or inside a request not yet complete)
 * and has no unread byte left (a peek reads end-of-stream), can never
 * complete a request; it is shut down so libmicrohttpd closes it now. One
 * whose answer is queued is left until the answer is sent. */
static void close_half_closed(struct intermediary *im)
{
	for (size_t i = 0; i < im->n_peer_done;) {
		struct conn *cn = im->peer_done[i];
		char byte;
		if (cn->answered || recv(cn->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) != 0) {
			i++;
			continue;
		}
		if (shutdown(cn->fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
			log_errno("shutdown of a half-closed connection");
		im->half_closed++;
		im->peer_done[i] = im->peer_done[--im->n_peer_done];
	}
}

/* Every connection carries its read deadline (deadline.h). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct intermediary *im = cls;
	struct conn *cn = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (cn) {
			deadline_disarm(&cn->deadline);
			peer_done_forget(im, cn);
		}
		free(cn);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	cn = calloc(1, sizeof(*cn));
	if (!cn || !fd) {
		free(cn);
		return; /* left to the idle timeout alone */
	}
	cn->fd = fd->connect_fd;
	deadline_arm(&im->deadlines, &cn->deadline, DEADLINE_HEAD, now_ms());
	*socket_context = cn;
	watch_peer(im, cn);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A new phase of the connection's current request; HEAD starts the next. */
static void connection_phase(struct intermediary *im, struct MHD_Connection *c, enum deadline_phase phase)
{
	struct conn *cn = conn_of(c);
	if (!cn)
		return;
	deadline_arm(&im->deadlines, &cn->deadline, phase, now_ms());
	if (phase == DEADLINE_HEAD)
		cn->answered = false;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	struct conn *cn = conn_of(c);
	if (cn)
		cn->answered = true;
	return MHD_queue_response(c, status, r);
}

/* A connection past its deadline is shut down under libmicrohttpd, which
 * then reads end-of-file and closes it through its own path. */
static void cut_connections_late_at(struct intermediary *im, uint64_t now)
{
	struct deadline *dl;
	while ((dl = deadline_pop_expired(&im->deadlines, now))) {
		struct conn *cn = (struct conn *)dl; /* its first member */
		im->timed_out++;
		if (shutdown(cn->fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
			log_errno("shutdown of a late connection");
	}
}

static void cut_late_connections(struct intermediary *im)
{
	cut_connections_late_at(im, now_ms());
}

static const char *header_value(struct MHD_Connection *c, const char *name, size_t *len)
{
	const char *v = NULL;
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, name, strlen(name), &v, len) != MHD_YES) {
		*len = 0;
		return "";
	}
	return v;
}

/* The request is complete: forward it unless it must be dropped, then 204. */
static enum MHD_Result finish_post(struct intermediary *im, struct MHD_Connection *c, struct request *r)
{
	size_t ctx_len, tok_len;
	const char *ctx = header_value(c, HDR_CONTEXT, &ctx_len);
	const char *tok = header_value(c, HDR_TOKEN, &tok_len);

	im->requests++;
	if (r->oversize)
		im->oversize++;
	else if (ctx_len > WIRE_CONTEXT_MAX || tok_len > WIRE_TOKEN_MAX)
		im->bad_header++;
	else
		forward(im, r, ctx, ctx_len, tok, tok_len);
	return answer(c, MHD_HTTP_NO_CONTENT, im->no_content);
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	unsigned *n = cls;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		n[0]++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		n[1]++;
	return MHD_YES;
}

/* Two Content-Length headers, or one beside Transfer-Encoding, frame the
 * body two ways: the setup of request smuggling. RFC 9112 §6.3 makes it a
 * 400, which libmicrohttpd's strict mode does not do by itself. */
static bool framing_ambiguous(struct MHD_Connection *c)
{
	unsigned n[2] = { 0, 0 };
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, n);
	return n[0] > 1 || n[1] > 1 || (n[0] && n[1]);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size,
				  void **req_cls)
{
	struct intermediary *im = cls;
	struct request *r = *req_cls;

	if (!r) {
		connection_phase(im, c, DEADLINE_BODY); /* the head is complete */
		if (strcmp(url, im->cfg->path) != 0)
			return answer(c, MHD_HTTP_NOT_FOUND, im->not_found);
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, im->not_allowed);
		if (framing_ambiguous(c))
			return answer(c, MHD_HTTP_BAD_REQUEST, im->bad_request);
		r = request_new(im);
		if (!r)
			return MHD_NO; /* MHD closes the connection */
		*req_cls = r;
		im->in_flight++;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		request_append(r, upload_data, *upload_size, im->cfg->max_request);
		*upload_size = 0;
		return MHD_YES;
	}
	return finish_post(im, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct intermediary *im = cls;
	connection_phase(im, c, DEADLINE_HEAD); /* the next request's head */
	if (*req_cls) {
		request_free(im, *req_cls);
		*req_cls = NULL;
		im->in_flight--;
	}
}

static bool responses_create(struct intermediary *im)
{
	im->no_content = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	im->not_found = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	im->not_allowed = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	im->bad_request = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!im->no_content || !im->not_found || !im->not_allowed || !im->bad_request)
		return false;
	if (MHD_add_response_header(im->bad_request, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		return false;
	return MHD_add_response_header(im->not_allowed, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_POST) == MHD_YES;
}

static void responses_destroy(struct intermediary *im)
{
	if (im->no_content)
		MHD_destroy_response(im->no_content);
	if (im->not_found)
		MHD_destroy_response(im->not_found);
	if (im->not_allowed)
		MHD_destroy_response(im->not_allowed);
	if (im->bad_request)
		MHD_destroy_response(im->bad_request);
}

static struct MHD_Daemon *daemon_start(struct intermediary *im)
{
	/* External epoll mode: MHD never starts a thread; this process's one
	 * loop drives it with MHD_run. */
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, im,
				MHD_OPTION_LISTEN_SOCKET, im->cfg->listen_fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, im,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, im,
				/* Idle clients are closed after timeout_s, slow ones
				 * (slowloris) at their read deadline (deadline.h); a
				 * request head must fit the 8 KiB
				 * per-connection pool (431 otherwise; the largest allowed
				 * head, token 4 KiB + context, fits). */
				MHD_OPTION_CONNECTION_TIMEOUT, im->cfg->timeout_s,
				MHD_OPTION_CONNECTION_LIMIT, im->cfg->max_connections,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, im->cfg->max_connections_per_ip,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)8192,
				/* Refuse what RFC 7230 calls malformed (HTTP/1.1
				 * without Host, space before a colon, …) with 400. */
				MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
				MHD_OPTION_END);
}

/* Tags of the role's own event sources in its epoll set; every other event
 * carries a connection's struct deadline (watch_peer). */
static char TAG_SIGNALS, TAG_HTTP;

static int epoll_add(int ep, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int wait_timeout_ms(struct MHD_Daemon *d)
{
	MHD_UNSIGNED_LONG_LONG t;
	if (MHD_get_timeout(d, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (int)t;
}

/* Backpressure instead of loss: while any artifact channel is more than a
 * quarter full (the kernel's "writable" mark for AF_UNIX sockets), read no
 * new request, so TCP pushes back on clients rather than a full channel
 * dropping an artifact that was already answered 204. A channel that stays
 * full for stall_ms is marked stuck: it is not waited for again until it
 * drains, and its copies are dropped (and counted) meanwhile, so one hung
 * provider costs the service one wait, not one wait per loop turn. The
 * bound must outlast a restart: a provider's, or the association's, during
 * which providers wait on their full signal channels (docs/RELIABILITY.md).
 * A stop ends the wait at once. The intermediary learns only that a
 * channel drains slowly, never what a provider decided (timing channels are
 * outside the model, docs/CLAIMS.md). */
static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The channels still waited for when stall_ms ran out: stuck. */
static void mark_stuck(struct intermediary *im, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		im->per_provider[im->blocking[j]].stuck = true;
		log_warn("artifact channel %zu full for %u ms: its copies are dropped until it drains", im->blocking[j],
			 im->cfg->stall_ms);
	}
}

/* Keeps in wait_fds[0, k) the channels a poll did not find writable;
 * returns how many. */
static size_t still_blocking(struct intermediary *im, size_t k)
{
	size_t left = 0;
	for (size_t j = 0; j < k; j++)
		if (!(im->wait_fds[j].revents & POLLOUT)) {
			im->wait_fds[left] = im->wait_fds[j];
			im->blocking[left++] = im->blocking[j];
		}
	return left;
}

static void wait_for_channels(struct intermediary *im)
{
	size_t n = im->cfg->n_providers, k = 0;
	/* the first look, on every loop turn, is at the channels alone */
	if (poll(im->channels, n, 0) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		bool writable = im->channels[i].revents & POLLOUT;
		if (writable && im->per_provider[i].stuck) {
			im->per_provider[i].stuck = false;
			log_info("artifact channel %zu drains again", i);
		}
		if (!writable && !im->per_provider[i].stuck) {
			im->wait_fds[k] = (struct pollfd){ .fd = im->channels[i].fd, .events = POLLOUT };
			im->blocking[k++] = i;
		}
	}
	if (k == 0)
		return;
	im->stalls++;
	/* Then the channels it waits for alone, and the stop signalfd, for
	 * stall_ms of real time: a poll that also held the writable channels
	 * would return at once. */
	uint64_t until = monotonic_ms() + im->cfg->stall_ms;
	for (;;) {
		im->wait_fds[k] = (struct pollfd){ .fd = im->channels[n].fd, .events = POLLIN };
		uint64_t now = monotonic_ms();
		if (now >= until) {
			mark_stuck(im, k);
			return;
		}
		int ready = poll(im->wait_fds, k + 1, until - now > 1000 ? 1000 : (int)(until - now));
		if (ready < 0 && errno != EINTR)
			return;
		if (ready <= 0)
			continue;
		if (im->wait_fds[k].revents & POLLIN)
			return; /* a stop signal, which the loop reads next */
		if ((k = still_blocking(im, k)) == 0)
			return;
	}
}

/* Stop: accept nothing new, finish the requests under way, then return.
 * Idle keep-alive connections hold no request and are not waited for; a
 * request still unfinished after DRAIN_MS belongs to a slow or hostile
 * client and is abandoned, so a stop stays a clean exit. */
static int drain(struct intermediary *im, struct MHD_Daemon *d, int ep)
{
	MHD_socket lfd = MHD_quiesce_daemon(d);
	struct timespec t0, t;
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd); /* our copy; the supervisor keeps the listener */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (im->in_flight > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > DRAIN_MS) {
			log_info("stop: abandoning %u unfinished requests after %d ms", im->in_flight, DRAIN_MS);
			return 0;
		}
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, wait_timeout_ms(d)) < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return 1;
		}
		MHD_run(d);
	}
	return 0;
}

#define EVENTS_MAX 64

static int serve(struct intermediary *im, struct MHD_Daemon *d, int sfd, const struct role_seal *seal)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || !info || epoll_add(ep, info->epoll_fd, &TAG_HTTP) < 0 || epoll_add(ep, sfd, &TAG_SIGNALS) < 0) {
		log_errno("epoll setup");
		return 1;
	}
	im->ep = ep;
	if (role_seal_and_report(seal, im->cfg->status_fd) < 0)
		return 1;
	/* The loop never runs start-up's code again (role.h); a failure is
	 * logged and changes nothing else. */
	(void)role_release_startup_code();
	for (;;) {
		struct epoll_event evs[EVENTS_MAX];
		int n = epoll_wait(ep, evs, EVENTS_MAX, wait_timeout_ms(d));
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &TAG_SIGNALS && role_stop_requested(sfd))
				return drain(im, d, ep);
			if (tag != &TAG_SIGNALS && tag != &TAG_HTTP)
				peer_done_note(im, tag);
		}
		MHD_run(d);
		close_half_closed(im);
		cut_late_connections(im);
		wait_for_channels(im);
	}
}

static void report_counters(const struct intermediary *im)
{
	uint64_t fwd = 0, full = 0, failed = 0;
	for (size_t i = 0; i < im->cfg->n_providers; i++) {
		fwd += im->per_provider[i].forwarded;
		full += im->per_provider[i].dropped_full;
		failed += im->per_provider[i].failed;
	}
	log_info("stopped: %" PRIu64 " requests, %" PRIu64 " oversize, %" PRIu64 " bad headers, %" PRIu64
		 " connections past their read deadline, %" PRIu64 " closed half-closed, %" PRIu64
		 " artifacts written, %" PRIu64 " dropped on a full channel, %" PRIu64 " failed, %" PRIu64
		 " waits for a congested channel",
		 im->requests, im->oversize, im->bad_header, im->timed_out, im->half_closed, fwd, full, failed,
		 im->stalls);
}

int intermediary_main(const struct intermediary_config *cfg, const struct role_seal *seal)
{
	struct intermediary im = { .cfg = cfg, .ep = -1 };
	int status = 1;
	deadlines_init(&im.deadlines, (uint64_t)cfg->header_timeout_s * 1000, (uint64_t)cfg->body_timeout_s * 1000);
	int sfd = role_stop_signalfd();
	im.per_provider = calloc(cfg->n_providers, sizeof(*im.per_provider));
	/* one per provider, then the stop signalfd (wait_for_channels) */
	im.channels = calloc(cfg->n_providers + 1, sizeof(*im.channels));
	for (size_t i = 0; im.channels && i < cfg->n_providers; i++)
		im.channels[i] = (struct pollfd){ .fd = cfg->artifact_fds[i], .events = POLLOUT };
	if (im.channels)
		im.channels[cfg->n_providers] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	im.wait_fds = calloc(cfg->n_providers + 1, sizeof(*im.wait_fds));
	im.blocking = calloc(cfg->n_providers, sizeof(*im.blocking));
	if (sfd < 0 || !im.per_provider || !im.channels || !im.wait_fds || !im.blocking || sodium_init() < 0 ||
	    !responses_create(&im)) {
		log_error("cannot initialise");
		goto out;
	}
	struct MHD_Daemon *d = daemon_start(&im);
	if (!d) {
		log_error("cannot start the HTTP server on the inherited listener");
		goto out;
	}
	status = serve(&im, d, sfd, seal);
	MHD_stop_daemon(d);
	report_counters(&im);
out:
	responses_destroy(&im);
	request_pool_free(&im);
	free(im.per_provider);
	free(im.channels);
	free(im.wait_fds);
	free(im.blocking);
	return status;
}
