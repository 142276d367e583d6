/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's artifact channel: messages of artifacts are peeked in
 * batches, each artifact decided (decide.h) and initiated, and the
 * messages consumed only once the batch's signals are in the journal, so a
 * kill never loses an artifact that no signal accounts for
 * (docs/RELIABILITY.md). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "provider_internal.h"

/* What the ring of the previous incarnation says of op (0: nothing). */
static uint8_t signalled_before(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN])
{
	if (p->recent_budget == 0)
		return 0;
	uint8_t stages = 0;
	for (size_t i = 0; i < p->n_recent; i++)
		if (memcmp(p->recent[i].op, op, WIRE_DIGEST_LEN) == 0)
			stages |= p->recent[i].stages;
	return stages;
}

static int handle_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	struct artifact a;
	uint8_t op[WIRE_DIGEST_LEN];
	enum wire_err e = artifact_decode(buf, len, &a);
	p->artifacts++;
	if (e != WIRE_OK) {
		p->wire.rejected[e]++;
		decider_count(&p->decider, REFUSE_MALFORMED);
		return 0;
	}
	derive_operation_id(a.request_repr, a.correlation, op);
	uint8_t before = signalled_before(p, op);
	if (before)
		p->recognised++;
	if (before == STAGES_BOTH)
		return 0;
	if (before)
		return initiate(p, &a, op, before);
	return decide(&p->decider, &a) >= 0 ? 0 : initiate(p, &a, op, 0);
}

/* An artifact message carries one or more whole frames back to back
 * (docs/PROTOCOL.md): each is handled in turn. Bytes that are not a whole
 * frame end the message as one malformed frame. */
static int handle_message(struct provider *p, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t frame = artifact_frame_len(buf + off, len - off);
		if (frame == 0 || frame > len - off)
			frame = len - off; /* artifact_decode refuses it and it is counted */
		if (handle_frame(p, buf + off, frame) < 0)
			return -1;
		off += frame;
		p->peeked_frames++;
	}
	/* The previous incarnation left at most one peek batch of messages
	 * handled but not consumed: past it, the ring concerns nothing. */
	if (p->recent_budget && --p->recent_budget == 0)
		p->n_recent = 0;
	return 0;
}

/* Consumes the artifacts handled so far, whose signals a flush already put
 * in the journal: one recv each without a buffer (no control buffer
 * either, so an fd sent along on a kernel without SO_PASSRIGHTS is
 * destroyed, never taken). An empty message (only a hostile writer sends
 * one) is stepped over by peeking: consumed here, it is counted and not
 * taken for one of them. */
int consume_peeked(struct provider *p)
{
	size_t next = 0;
	while (next < p->peeked) {
		ssize_t n = recv(p->cfg->artifact_fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errno("artifact channel: consuming %zu handled artifacts", p->peeked - next);
			return -1;
		}
		if (n == 0 && p->peek_len[next] != 0)
			p->wire.rejected[WIRE_ETRUNC]++;
		else
			next++;
	}
	p->peeked = 0;
	p->peeked_frames = 0;
	return 0;
}

/* Peeks up to PEEK_BATCH messages, or fewer once they held PEEK_BATCH
 * artifacts (the channel's peek offset, set at start, steps from one to
 * the next) and handles each artifact. Returns 1 when the
 * batch is full and more may follow, 0 when the channel had no more, -1 on
 * a fatal error; *odd is set when the next message is empty or oversized
 * and must be dropped after the batch. */
static int peek_batch(struct provider *p, bool *odd)
{
	*odd = false;
	while (p->peeked < PEEK_BATCH && p->peeked_frames < PEEK_BATCH) {
		ssize_t n = recv(p->cfg->artifact_fd, p->frame, p->frame_cap, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			log_errno("artifact channel");
			return -1;
		}
		if (n == 0 || (size_t)n > p->frame_cap) {
			/* A peek steps over an oversized message only by part of it:
			 * it is dropped on its own once the batch is consumed. */
			*odd = true;
			return 0;
		}
		p->peek_len[p->peeked++] = (size_t)n;
		if (handle_message(p, p->frame, (size_t)n) < 0)
			return -1;
	}
	return 1;
}

/* Drops the message at the channel's head: empty (or the end of the
 * channel) or oversized. */
static void drop_odd(struct provider *p)
{
	ssize_t n = recv(p->cfg->artifact_fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
	if (n > 0) {
		p->wire.rejected[WIRE_EOVERSIZE]++;
		p->artifacts++;
		decider_count(&p->decider, REFUSE_MALFORMED);
	}
}

/* Reads every queued artifact: peek a batch, handle it, journal its
 * signals, then consume it; they are sent with their checkpoint, which
 * comes due here too (docs/RELIABILITY.md). Returns -1 on a fatal error. */
int drain_artifacts(struct provider *p)
{
	for (;;) {
		bool odd;
		/* A request to send the journal again goes first: under steady
		 * load this loop may not return to epoll for long, and every
		 * batch made meanwhile pushes the frames a restarted association
		 * lacks further back in the ring (journal.h). */
		if (resend_if_asked(p) < 0 || checkpoint_if_due(p) < 0)
			return -1;
		int more = peek_batch(p, &odd);
		if (more < 0 || flush_frames(p) < 0 || consume_peeked(p) < 0)
			return -1;
		if (odd) {
			drop_odd(p);
			return 0; /* an empty read may be the channel's end: the loop's EPOLLHUP says */
		}
		if (!more) {
			p->recent_budget = 0;
			p->n_recent = 0;
			return 0;
		}
	}
}

/* The writer shut the channel (a compromised intermediary can): reads
 * would return end-of-file at once, for ever, and a level-triggered watch
 * would spin. The channel is dead for this run; stop watching it. */
void artifact_channel_shut(struct provider *p)
{
	if (epoll_ctl(p->ep, EPOLL_CTL_DEL, p->cfg->artifact_fd, NULL) == 0)
		log_error("the artifact channel was shut by its writer: no more artifacts reach this provider");
}
