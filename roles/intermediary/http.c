/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary's HTTP side, through libmicrohttpd: a constant 204 to
 * every well-formed POST on its path, whose artifact channels.c writes.
 * Everything it learns about a request is gone once the 204 is queued: the
 * body buffer is freed by the completion callback, and nothing it could
 * read back from a provider exists (the artifact channels are write-only at
 * the kernel, docs/ARCHITECTURE.md §2). Per connection it keeps only a
 * read deadline (deadline.h) and whether the peer half-closed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../../lib/log.h"
#include "../../lib/wire.h"
#include "intermediary_internal.h"

#define HDR_CONTEXT "X-Verification-Context"
#define HDR_TOKEN "X-Provider-Token"

/* What the intermediary keeps per connection, never per request. */
struct conn {
	struct deadline deadline; /* first member: expiry hands it back */
	int fd;
	bool peer_done; /* EPOLLRDHUP seen: the peer will send nothing more */
	bool answered;  /* a response to the current request is queued */
};

/* ----------------------------------------------------------------- requests */

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

void request_pool_free(struct intermediary *im)
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

/* -------------------------------------------------------------- connections */

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

void peer_done_note(struct intermediary *im, struct conn *cn)
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
void close_half_closed(struct intermediary *im)
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
	deadline_arm(&im->deadlines, &cn->deadline, DEADLINE_HEAD, clock_mono_ms());
	*socket_context = cn;
	watch_peer(im, cn);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A new phase of the connection's current request; HEAD starts the next.
 * Inline: every request calls it twice. */
static inline void connection_phase(struct intermediary *im, struct MHD_Connection *c, enum deadline_phase phase)
{
	struct conn *cn = conn_of(c);
	if (!cn)
		return;
	deadline_arm(&im->deadlines, &cn->deadline, phase, clock_mono_ms());
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
void cut_connections_late_at(struct intermediary *im, uint64_t now)
{
	struct deadline *dl;
	while ((dl = deadline_pop_expired(&im->deadlines, now))) {
		struct conn *cn = (struct conn *)dl; /* its first member */
		im->timed_out++;
		if (shutdown(cn->fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
			log_errno("shutdown of a late connection");
	}
}

/* ------------------------------------------------------------ the callbacks */

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
		forward_request(im, r, ctx, ctx_len, tok, tok_len);
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

/* ------------------------------------------------- responses and the daemon */

bool responses_create(struct intermediary *im)
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

void responses_destroy(struct intermediary *im)
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

struct MHD_Daemon *http_daemon_start(struct intermediary *im)
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
