/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary's artifact channels: one artifact per request, written
 * to every provider's channel without waiting, and the wait that holds new
 * requests back while a channel is congested.
 *
 * Backpressure instead of loss: while any artifact channel is more than a
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
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "../../lib/wire.h"
#include "intermediary_internal.h"

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
void forward_request(struct intermediary *im, const struct request *r, const char *ctx, size_t ctx_len,
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

void wait_for_channels(struct intermediary *im)
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
	uint64_t until = clock_mono_ms() + im->cfg->stall_ms;
	for (;;) {
		im->wait_fds[k] = (struct pollfd){ .fd = im->channels[n].fd, .events = POLLIN };
		uint64_t now = clock_mono_ms();
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
