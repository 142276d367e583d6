/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the intermediary share: its state, and the functions
 * one file offers the others.
 *
 *   intermediary.c  the loop: one turn reads every ready connection, writes
 *                   the turn's artifacts, then the answers (in that order)
 *   conn.c          connections: accept, caps, read, write, close, deadlines
 *   peers.c         how many connections each client address holds
 *   http.c          what a request means, through libhttp-parser's callbacks
 *   request.c       a request's body, context and token until its artifact
 *   channels.c      artifacts, one sendmmsg per provider per turn, and the
 *                   wait while a channel is congested
 *
 * The order of a turn is what keeps "no 204 before its artifact": a
 * complete request only queues its answer on its connection; answers are
 * written after batch_flush has written the turn's artifacts. */
#ifndef MPBS_INTERMEDIARY_INTERNAL_H
#define MPBS_INTERMEDIARY_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <http_parser.h>

#include "../../lib/clock.h"
#include "../../lib/wire.h"
#include "../role_counters.h"
#include "deadline.h"
#include "intermediary.h"

/* A request body up to this size needs no allocation. */
#define REQ_INLINE 1024
/* A request head (request line and headers) must fit this, else 431. The
 * largest head the contract allows (a 4096-byte token beside the context)
 * fits. */
#define HEAD_MAX 8192
/* One read of a connection per turn, into the loop's one buffer. */
#define READ_MAX 16384
/* Runs of equal answers a connection may owe; a connection owing more
 * (pipelining without reading) is not read until they are written. */
#define ANSWER_RUNS_MAX 8
#define ANSWERS_OWED_MAX 256
/* Artifacts per turn and provider: a turn with more flushes on the way.
 * They go out in one sendmmsg per provider, packed back to back into as
 * few messages as ARTIFACT_FRAME_MAX(max_request) bytes each allow (the
 * provider's buffer holds one): the kernel's cost is per message. */
#define BATCH_MAX 64
/* Bytes of frames (with bodies) a batch may hold before it is flushed and
 * the channels are waited for, mid-turn: a turn's reads can complete
 * megabytes of large requests, more than a channel's buffer (2 MiB at
 * least, runner/plan.c) takes at once, and what it refused would be
 * dropped. The wait brings every channel under its quarter-full mark. */
#define BATCH_BYTES_MAX (256 << 10)

/* The fixed answers; answer_text() has their bytes. */
enum answer {
	ANSWER_CONTINUE,              /* 100, for Expect: 100-continue */
	ANSWER_NO_CONTENT,            /* 204: every well-formed POST on the path */
	ANSWER_NO_CONTENT_KEEP_ALIVE, /* 204 to an HTTP/1.0 client that asked to keep the connection */
	ANSWER_NO_CONTENT_CLOSE,      /* 204, then close: the client asked for it (or HTTP/1.0) */
	ANSWER_NOT_FOUND,             /* 404: another path */
	ANSWER_NOT_FOUND_CLOSE,
	ANSWER_NOT_ALLOWED,           /* 405: another method on the path */
	ANSWER_NOT_ALLOWED_CLOSE,
	ANSWER_BAD_REQUEST,           /* 400, then close */
	ANSWER_HEAD_TOO_LARGE,        /* 431, then close */
	ANSWERS
};

struct answer_run {
	uint8_t answer;   /* enum answer */
	uint32_t count;
};

/* One POST on the path, from its head to its artifact. */
struct request {
	struct request *next;   /* in the pool when unused, in the batch when complete */
	size_t len, cap;
	bool oversize;          /* body over max_request: dropped, still 204 */
	bool header_over;       /* context or token over its maximum, or sent twice: dropped, still 204 */
	bool has_ctx, has_tok;  /* the header was seen (a second one is ambiguous) */
	uint8_t *body;
	size_t ctx_len, tok_len, tok_cap;
	char *tok;              /* allocated when a token arrives */
	char ctx[WIRE_CONTEXT_MAX];
	uint8_t inline_buf[REQ_INLINE];
};

/* The headers a request's meaning depends on; the others are skipped. */
enum header {
	HEADER_OTHER, HEADER_HOST, HEADER_EXPECT, HEADER_CONTENT_LENGTH, HEADER_TRANSFER_ENCODING,
	HEADER_CONTEXT, HEADER_TOKEN,
};

/* What the current request gets at its head. */
enum verdict { VERDICT_FORWARD, VERDICT_NOT_FOUND, VERDICT_NOT_ALLOWED };

/* One accepted connection. Nothing in it outlives a request but the
 * parser's position, the deadlines and the answers not yet written. */
struct conn {
	struct deadline read_deadline; /* HEAD or BODY */
	struct deadline idle_deadline; /* IDLE, moved by every read */
	struct conn *next, **pprev;    /* every open connection */
	http_parser parser;            /* .data: this connection */
	struct conn *next_dirty;       /* on the turn's list of answers to write */
	struct conn *next_resume;      /* on the list of paused connections to parse again */
	struct request *req;           /* the POST being received, if any */
	char *stash;                   /* bytes read but not parsed while paused */
	uint32_t stash_len;
	uint32_t head_bytes;           /* of the current request's head */
	uint16_t url_len;              /* bytes of the path matched so far */
	bool url_other;                /* the path is not the role's */
	bool url_query;                /* the query string began: the rest is not the path */
	uint32_t owed;                 /* answers queued, all runs */
	uint32_t first_sent;           /* bytes of the first owed answer already written */
	struct answer_run runs[ANSWER_RUNS_MAX];
	uint8_t n_runs;
	int fd;
	uint32_t events;               /* what the epoll set watches on fd */
	uint8_t peer[16];              /* the client's address, when counted */
	bool counted;                  /* in the per-address counts */
	enum verdict verdict;
	enum header header;            /* the header whose value is arriving */
	char name[32];                 /* the header name so far, lowercase */
	uint8_t name_len;
	bool name_done;                /* its value has begun */
	char expect[16];
	uint8_t expect_len;
	uint8_t n_content_length, n_transfer_encoding;
	bool has_host;
	bool in_head;                  /* between the first byte of a request and its headers' end */
	bool dirty, paused, resuming;
	bool write_blocked;            /* waiting for EPOLLOUT */
	bool close_after;              /* close once the answers are written (an error, Connection: close) */
	bool peer_eof;                 /* the peer sent its FIN */
	bool lingering;                /* write side shut after a final error; reading until the peer closes */
	bool dead;                     /* to be closed at the end of the turn */
};

/* A complete request in the turn's batch, with its artifact's two headers
 * (with and without the body) and the iovecs that point into it. */
struct batch_slot {
	struct request *r;
	uint8_t hdr_body[ARTIFACT_HDR_LEN], hdr_bare[ARTIFACT_HDR_LEN];
	size_t len_body, len_bare;  /* of the two frames */
};

struct forward_stats {
	uint64_t forwarded;     /* artifacts written, all providers */
	uint64_t dropped_full;  /* a provider's channel was full: only its copy dropped */
	uint64_t failed;        /* any other send error */
	bool stuck;             /* full for stall_ms: not waited for until it drains (wait_for_channels) */
};

/* Per-address connection counts (peers.c): an open-addressing table. */
struct peer_slot {
	uint8_t addr[16];       /* IPv4 as ::ffff:a.b.c.d */
	uint32_t conns;         /* 0: free */
};
struct peers {
	struct peer_slot *slots;
	size_t mask;            /* slots - 1, a power of two minus one */
};

struct intermediary {
	const struct intermediary_config *cfg;
	struct pollfd *channels;           /* one per provider, POLLOUT; then the stop signalfd */
	struct pollfd *wait_fds;           /* the channels a congestion wait is for, then the stop signalfd */
	size_t *blocking;                  /* their provider indices */
	uint64_t stalls;                   /* times it held requests back */
	uint64_t requests, oversize, bad_header, timed_out, half_closed, refused;
	struct deadlines deadlines;        /* of every open connection */
	int ep;                            /* the role's epoll set */
	bool accepting;                    /* the listener is in the epoll set */
	bool stopping;                     /* accepting no more, for good */
	uint64_t accept_again_ms;          /* when accepting resumes after accept4 failed */
	struct conn *all;                  /* every open connection */
	unsigned n_conns;
	unsigned in_flight;                /* POSTs begun and not yet complete */
	struct peers peers;
	struct conn *dirty;                /* connections with answers to write this turn */
	struct conn *resume;               /* paused connections whose answers went out */
	struct request *free_requests;     /* the pool (request_new) */
	size_t n_free_requests;
	struct batch_slot *batch;          /* complete requests whose artifacts are not written yet */
	size_t n_batch;
	size_t batch_bytes;                /* of its frames with bodies */
	struct mmsghdr *msgs;              /* BATCH_MAX, for one provider's sendmmsg */
	struct iovec *iov;                 /* 4 * BATCH_MAX: the frames of those messages */
	uint16_t *msg_frames;              /* BATCH_MAX: how many frames each message carries */
	/* Correlations drawn BATCH_MAX at a time: libsodium's generator asks
	 * getpid() on every call (its fork check), one syscall per request. */
	uint8_t random_pool[BATCH_MAX * WIRE_CORRELATION_LEN];
	size_t random_left;
	struct forward_stats *per_provider;
	struct role_counters_report counters; /* to the supervisor (role_counters.h) */
};

/* request.c */
struct request *request_new(struct intermediary *im);
void request_free(struct intermediary *im, struct request *r);
void request_pool_free(struct intermediary *im);
/* Appends body bytes; past max the body is marked oversize and discarded. */
void request_append(struct request *r, const char *data, size_t n, size_t max);
/* A context or token header begins; a second one of either marks the
 * request header_over (which value would a provider be shown?). */
void request_header_begin(struct request *r, enum header h);
/* Appends to the context or the token value; past its maximum the request
 * is marked header_over. */
void request_header_append(struct request *r, enum header h, const char *data, size_t n);
/* The value is complete: trailing blanks are not part of it (RFC 9110 §5.5). */
void request_header_end(struct request *r, enum header h);

/* http.c */
/* Parses bytes read from cn; returns how many it took (fewer when it
 * paused the connection, which then keeps the rest). An error queues
 * 400 or 431 and closes the connection after it. */
size_t http_parse(struct intermediary *im, struct conn *cn, const char *data, size_t len);
/* The connection ends: a request cut short is abandoned, never forwarded. */
void http_abandon(struct intermediary *im, struct conn *cn);
/* A new connection's parser. */
void http_conn_init(struct conn *cn);
/* The bytes of an answer. */
const char *answer_text(enum answer a, size_t *len);

/* conn.c */
bool conns_init(struct intermediary *im, void *listener_tag);
void conns_free(struct intermediary *im);
/* Accepts what the listener has, up to a turn's worth. */
void conns_accept(struct intermediary *im);
/* One read of cn, parsed. */
void conn_read(struct intermediary *im, struct conn *cn);
/* Queues an answer; it is written after the turn's artifacts. */
void conn_answer(struct intermediary *im, struct conn *cn, enum answer a);
/* EPOLLOUT on cn: its answers can be written again. */
void conn_writable(struct intermediary *im, struct conn *cn);
/* Stops reading cn until its answers are written. */
void conn_pause(struct intermediary *im, struct conn *cn, const char *rest, size_t len);
/* Parses again the paused connections whose answers went out. */
void conns_resume(struct intermediary *im);
/* Writes the queued answers, then closes what is done. */
void conns_write(struct intermediary *im);
/* Closes the connections past a deadline at `now`. */
void conns_expire(struct intermediary *im, uint64_t now);
/* Stops accepting: the listener leaves the epoll set. */
void conns_stop_accepting(struct intermediary *im);
/* ms until the earliest deadline, at most max_ms; 0 when paused
 * connections wait to be parsed again. */
int conns_timeout_ms(struct intermediary *im, int max_ms);

/* peers.c */
bool peers_init(struct peers *p, unsigned max_connections);
void peers_free(struct peers *p);
/* The client's address, without the port; IPv4 as IPv4-mapped IPv6,
 * other IPv6 by its /64. */
void peer_address(const struct sockaddr_storage *ss, uint8_t out[16]);
/* Counts one more connection from addr; false (and nothing counted) when
 * the address already holds cap. */
bool peers_add(struct peers *p, const uint8_t addr[16], unsigned cap);
void peers_remove(struct peers *p, const uint8_t addr[16]);

/* channels.c */
/* Adds a complete request to the turn's batch (flushed when full). */
void batch_add(struct intermediary *im, struct request *r);
/* Writes the batch's artifacts: one sendmmsg per provider. */
void batch_flush(struct intermediary *im);
/* Holds new requests back while a channel is congested (bounded by stall_ms). */
void wait_for_channels(struct intermediary *im);

/* intermediary.c */
/* One turn of the loop, waiting at most timeout_ms for an event. Returns
 * 1 when a stop was requested, -1 on an error, 0 otherwise. */
int intermediary_turn(struct intermediary *im, int sfd, int timeout_ms);
bool intermediary_open(struct intermediary *im, const struct intermediary_config *cfg, int sfd);
void intermediary_close(struct intermediary *im);

#endif
