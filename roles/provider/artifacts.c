/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's artifact channel: messages of artifacts are peeked in
 * batches (channel_read.h), each artifact decided (decide.h) and
 * initiated, and the messages consumed only once their signals are in the
 * journal, so a kill never loses an artifact that no signal accounts for
 * (docs/RELIABILITY.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "provider_internal.h"

/* Past the artifacts the previous incarnation's ring could concern: its
 * copy of the ring's operations (JOURNAL_FRAMES of them) goes. */
static void forget_recent(struct provider *p)
{
	p->recent_budget = 0;
	p->n_recent = 0;
	free(p->recent);
	p->recent = NULL;
}

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
	p->unconsumed_artifacts++;
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
	}
	/* the messages of the first batch after a restart are those the
	 * previous incarnation may have signalled without consuming */
	if (p->recent_budget && --p->recent_budget == 0)
		forget_recent(p);
	return 0;
}

/* Consumes the messages handled so far, whose signals a flush already put
 * in the journal (channel_read.h). */
int consume_peeked(struct provider *p)
{
	if (p->peeked && channel_consume(p->cfg->artifact_fd, p->peek_len, p->peeked, &p->wire.rejected[WIRE_ETRUNC]) < 0) {
		log_errno("artifact channel: consuming %zu handled messages", p->peeked);
		return -1;
	}
	p->peeked = 0;
	p->unconsumed_artifacts = 0;
	return 0;
}

/* Peeks up to PEEK_MSGS messages (channel_read.h) and handles each. Every
 * message is registered (p->peek_len) before it is handled, so that a
 * consume in the middle (a handler about to start, or BATCH_ARTIFACTS
 * reached) takes exactly the messages handled so far, and the peek offset
 * still steps from them to the next. A message over frame_cap is one
 * malformed artifact; an empty one (or the channel's end) ends the drain
 * after this batch. Returns 1 when more may follow, 0 when the channel had
 * no more, -1 on a fatal error. */
static int peek_batch(struct provider *p, bool *end)
{
	struct peeked_msg msgs[PEEK_MSGS];
	bool full;
	int n = channel_peek(p->cfg->artifact_fd, p->frames, p->frame_cap, msgs, &full);
	*end = false;
	if (n < 0) {
		log_errno("artifact channel");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		p->peek_len[p->peeked++] = msgs[i].len;
		if (msgs[i].len == 0) {
			*end = true;
		} else if (!msgs[i].data) {
			p->wire.rejected[WIRE_EOVERSIZE]++;
			p->artifacts++;
			decider_count(&p->decider, REFUSE_MALFORMED);
		} else if (handle_message(p, msgs[i].data, msgs[i].len) < 0) {
			return -1;
		}
		if (p->unconsumed_artifacts >= BATCH_ARTIFACTS && (flush_frames(p) < 0 || consume_peeked(p) < 0))
			return -1;
	}
	return full;
}

/* Reads every queued artifact: peek a batch, handle it, journal its
 * signals, then consume it; they are sent with their checkpoint, which
 * comes due here too (docs/RELIABILITY.md). A checkpoint that came due
 * waits until the channel is read dry, or for the rest of the batch it came
 * due in and one batch more: the artifacts queued by then were mostly sent
 * before the grid instant, and the other providers' checkpoints of that
 * instant cover them (a provider woken late would otherwise put them an
 * interval later, and the operation with them). Returns -1 on a fatal
 * error. */
int drain_artifacts(struct provider *p)
{
	bool was_due = false;
	for (bool first = true;; first = false) {
		bool end;
		/* A request to send the journal again goes first: under steady
		 * load this loop may not return to epoll for long, and every
		 * batch made meanwhile pushes the frames a restarted association
		 * lacks further back in the ring (journal.h). Not before the
		 * first batch: the loop comes from epoll, which reported the
		 * request with the artifacts if it was there. */
		if ((!first && resend_if_asked(p) < 0) || (was_due && checkpoint_if_due(p) < 0))
			return -1;
		was_due = checkpoint_is_due(p);
		int more = peek_batch(p, &end);
		if (more < 0 || flush_frames(p) < 0 || consume_peeked(p) < 0)
			return -1;
		if (end)
			return checkpoint_if_due(p); /* an empty read may be the channel's end: the loop's EPOLLHUP says */
		if (!more) {
			forget_recent(p);
			return checkpoint_if_due(p);
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
