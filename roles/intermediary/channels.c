/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary's artifact channels: one artifact per request, written
 * to every provider's channel without waiting, a turn's artifacts with one
 * sendmmsg per provider, and the wait that holds new requests back while a
 * channel is congested.
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
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "../../lib/wire.h"
#include "intermediary_internal.h"

/* A fresh correlation from the pool; each is wiped once taken. */
static void correlation_draw(struct intermediary *im, uint8_t out[WIRE_CORRELATION_LEN])
{
	if (im->random_left == 0) {
		randombytes_buf(im->random_pool, sizeof(im->random_pool));
		im->random_left = sizeof(im->random_pool);
	}
	im->random_left -= WIRE_CORRELATION_LEN;
	memcpy(out, im->random_pool + im->random_left, WIRE_CORRELATION_LEN);
	sodium_memzero(im->random_pool + im->random_left, WIRE_CORRELATION_LEN);
}

void batch_add(struct intermediary *im, struct request *r)
{
	size_t len = ARTIFACT_HDR_LEN + r->ctx_len + r->tok_len + r->len;
	if (im->n_batch == BATCH_MAX || im->batch_bytes + len > BATCH_BYTES_MAX) {
		batch_flush(im);
		wait_for_channels(im);
	}
	im->batch_bytes += len;
	struct batch_slot *b = &im->batch[im->n_batch++];
	struct artifact a = {
		.context = r->ctx, .context_len = r->ctx_len,
		.token = r->tok, .token_len = r->tok_len,
		.has_body = true, .body = r->body, .body_len = r->len,
	};
	derive_request_repr(r->body, r->len, a.request_repr);
	derive_binding(a.request_repr, r->ctx, r->ctx_len, a.binding);
	correlation_draw(im, a.correlation);
	artifact_header_encode(&a, true, b->hdr_body);
	artifact_header_encode(&a, false, b->hdr_bare);
	sodium_memzero(&a, sizeof(a));
	b->r = r;
	b->len_bare = ARTIFACT_HDR_LEN + r->ctx_len + r->tok_len;
	b->len_body = b->len_bare + r->len;
}

/* The iovecs of slot b's frame for one provider: header, context, token
 * and (with_body) the body, where the request holds them. */
static size_t frame_iov(struct batch_slot *b, bool with_body, struct iovec *iov)
{
	struct request *r = b->r;
	iov[0] = (struct iovec){ with_body ? b->hdr_body : b->hdr_bare, ARTIFACT_HDR_LEN };
	iov[1] = (struct iovec){ r->ctx, r->ctx_len };
	iov[2] = (struct iovec){ r->tok, r->tok_len };
	if (!with_body)
		return 3;
	iov[3] = (struct iovec){ r->body, r->len };
	return 4;
}

/* Packs the batch's frames for one provider into messages of at most cap
 * bytes; returns how many messages. */
static size_t pack_messages(struct intermediary *im, bool with_body, size_t cap)
{
	size_t n_msgs = 0, n_iov = 0, msg_len = 0;
	for (size_t k = 0; k < im->n_batch; k++) {
		struct batch_slot *b = &im->batch[k];
		size_t len = with_body ? b->len_body : b->len_bare;
		if (n_msgs == 0 || msg_len + len > cap) {
			im->msgs[n_msgs] = (struct mmsghdr){ .msg_hdr = { .msg_iov = im->iov + n_iov } };
			im->msg_frames[n_msgs++] = 0;
			msg_len = 0;
		}
		struct msghdr *m = &im->msgs[n_msgs - 1].msg_hdr;
		size_t used = frame_iov(b, with_body, im->iov + n_iov);
		m->msg_iovlen += used;
		n_iov += used;
		msg_len += len;
		im->msg_frames[n_msgs - 1]++;
	}
	return n_msgs;
}

/* How many frames the messages [from, to) carry. */
static uint64_t frames_in(const struct intermediary *im, size_t from, size_t to)
{
	uint64_t n = 0;
	for (size_t k = from; k < to; k++)
		n += im->msg_frames[k];
	return n;
}

/* One provider's copies of the batch, in as few sendmmsg calls as the
 * channel takes; what a full channel refuses is dropped and counted. */
static void flush_to(struct intermediary *im, size_t i)
{
	bool alone = im->cfg->one_per_message && im->cfg->one_per_message[i];
	size_t n = pack_messages(im, im->cfg->receive_body[i], alone ? 0 : ARTIFACT_FRAME_MAX(im->cfg->max_request));
	size_t off = 0;
	struct forward_stats *st = &im->per_provider[i];
	while (off < n) {
		int sent = sendmmsg(im->cfg->artifact_fds[i], im->msgs + off, (unsigned)(n - off),
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			st->forwarded += frames_in(im, off, off + (size_t)sent);
			off += (size_t)sent;
		} else if (sent < 0 && errno == EINTR) {
			continue;
		} else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			st->dropped_full += frames_in(im, off, n);
			return;
		} else {
			if (st->failed == 0)
				log_errno("artifact channel %zu", i);
			st->failed += frames_in(im, off, n);
			return;
		}
	}
}

/* Writes every provider's copy of the batch's artifacts, then lets the
 * requests go: from here on the role holds nothing of them. */
void batch_flush(struct intermediary *im)
{
	if (im->n_batch == 0)
		return;
	for (size_t i = 0; i < im->cfg->n_providers; i++)
		flush_to(im, i);
	for (size_t k = 0; k < im->n_batch; k++) {
		request_free(im, im->batch[k].r);
		sodium_memzero(&im->batch[k], sizeof(im->batch[k]));
	}
	im->n_batch = 0;
	im->batch_bytes = 0;
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
	/* Stopping: the stop signal, this wait's way out, is already read,
	 * and the drain is bounded; a copy a full channel refuses now is
	 * dropped and counted, as when the channel is stuck. */
	if (im->stopping)
		return;
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
