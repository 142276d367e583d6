/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the intermediary share: its state, and the functions
 * one file offers the others. http.c answers HTTP through libmicrohttpd,
 * channels.c writes artifacts to the providers' channels and waits while
 * one is congested, intermediary.c runs the loop. */
#ifndef MPBS_INTERMEDIARY_INTERNAL_H
#define MPBS_INTERMEDIARY_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>

#include "../../lib/clock.h"
#include "../role_counters.h"
#include "deadline.h"
#include "intermediary.h"

/* A request body up to this size needs no allocation. */
#define REQ_INLINE 1024
/* Connections whose peer half-closed, handled per loop turn; more wait for
 * their deadline. */
#define PEER_DONE_MAX 64

struct forward_stats {
	uint64_t forwarded;     /* artifacts written, all providers */
	uint64_t dropped_full;  /* a provider's channel was full: only its copy dropped */
	uint64_t failed;        /* any other send error */
	bool stuck;             /* full for stall_ms: not waited for until it drains (wait_for_channels) */
};

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
	struct role_counters_report counters; /* to the supervisor (role_counters.h) */
};

/* One request in flight: a growing body buffer, freed when MHD completes it. */
struct request {
	struct request *next_free;  /* in the intermediary's pool when unused */
	size_t len, cap;
	bool oversize;
	uint8_t *body;
	uint8_t inline_buf[REQ_INLINE];
};

/* http.c: HTTP through libmicrohttpd. */
/* The 204 and the error answers, made once. */
bool responses_create(struct intermediary *im);
void responses_destroy(struct intermediary *im);
/* libmicrohttpd on the inherited listener, driven by the role's loop. */
struct MHD_Daemon *http_daemon_start(struct intermediary *im);
void request_pool_free(struct intermediary *im);
/* The loop saw EPOLLRDHUP on cn's socket. */
void peer_done_note(struct intermediary *im, struct conn *cn);
/* After libmicrohttpd has run: half-closed connections that can never
 * complete a request are shut down. */
void close_half_closed(struct intermediary *im);
/* Connections past their read deadline at `now` are shut down. */
void cut_connections_late_at(struct intermediary *im, uint64_t now);

/* channels.c: the artifact channels. */
/* Derives the artifact of r and writes it to every provider. */
void forward_request(struct intermediary *im, const struct request *r, const char *ctx, size_t ctx_len,
		     const char *tok, size_t tok_len);
/* Holds new requests back while a channel is congested (bounded by stall_ms). */
void wait_for_channels(struct intermediary *im);

#endif
