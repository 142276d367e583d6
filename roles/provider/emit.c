/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's chain on its signal channel: signals and checkpoints are
 * made here and queued, written to the journal at the end of each loop
 * round and sent with the checkpoint that covers them (flush_frames).
 * Checkpoints (one Ed25519 signature over a chain
 * head) are emitted at epoch start, every checkpoint_every signals, at the
 * next multiple of checkpoint_ms after an uncovered signal, and at stop: signing
 * every signal would cost ~15 µs each, a chain link costs under 1 µs
 * (docs/ARCHITECTURE.md §3). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/clock.h"
#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "provider_internal.h"

/* Sends frames, blocking: the association is slower than us at worst, and
 * waiting on it is the backpressure we want (nothing is dropped here). The
 * frames go as datagrams of frames back to back (SIGNAL_DATAGRAM_FRAMES at
 * most each), by one sendmmsg. */
int send_frames(struct provider *p, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens,
		size_t count)
{
	struct mmsghdr msgs[(OUT_BATCH + SIGNAL_DATAGRAM_FRAMES - 1) / SIGNAL_DATAGRAM_FRAMES];
	struct iovec iov[OUT_BATCH];
	size_t sent = 0, n_msgs = 0;
	for (size_t i = 0; i < count; i++)
		iov[i] = (struct iovec){ (void *)frames[i], lens[i] };
	for (size_t i = 0; i < count; i += SIGNAL_DATAGRAM_FRAMES) {
		size_t k = count - i < SIGNAL_DATAGRAM_FRAMES ? count - i : SIGNAL_DATAGRAM_FRAMES;
		msgs[n_msgs++] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = k } };
	}
	count = n_msgs;
	while (sent < count) {
		int n = sendmmsg(p->cfg->signal_fd, msgs + sent, (unsigned)(count - sent), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_errno("signal channel");
			return -1;
		}
		sent += (size_t)n;
	}
	return 0;
}

/* Queued frames go to the journal at once (a frame the association may see
 * is always one a restart can send again, and an artifact is consumed only
 * once its signals are journaled), and to the channel only when a
 * checkpoint is among them or OUT_BATCH are queued: the association counts
 * a signal only once a checkpoint covers it, so sending earlier would tell
 * it nothing sooner and cost both sides a wake-up and a datagram per loop
 * round. Signals wait here at most checkpoint_ms (the timer armed by the
 * first uncovered one, arm_timer). */
int flush_frames(struct provider *p)
{
	if (journal_queued(p) < 0)
		return -1;
	if (!p->out_checkpoint && p->n_out < OUT_BATCH)
		return 0;
	if (send_frames(p, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])p->out, p->out_len, p->n_out) < 0)
		return -1;
	forget_queued(p);
	return 0;
}

int journal_queued(struct provider *p)
{
	if (p->n_journaled == p->n_out)
		return 0;
	if (journal_append(&p->journal, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])p->out + p->n_journaled,
			   p->out_len + p->n_journaled, p->n_out - p->n_journaled) < 0) {
		log_errno("journal");
		return -1;
	}
	p->n_journaled = p->n_out;
	return 0;
}

void forget_queued(struct provider *p)
{
	p->n_out = p->n_journaled = 0;
	p->out_checkpoint = false;
}

static int queue_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	if (p->n_out == OUT_BATCH && flush_frames(p) < 0)
		return -1;
	memcpy(p->out[p->n_out], buf, len);
	p->out_len[p->n_out++] = (unsigned)len;
	return 0;
}

int emit_checkpoint(struct provider *p)
{
	struct checkpoint_frame c = { .seq = p->seq };
	uint8_t buf[CHECKPOINT_FRAME_LEN];

	memcpy(c.provider, p->wire_name, sizeof(c.provider));
	memcpy(c.epoch, p->epoch, sizeof(c.epoch));
	memcpy(c.head, p->head, sizeof(c.head));
	checkpoint_sign(&c, p->sk);
	if (!checkpoint_encode(&c, buf) || queue_frame(p, buf, sizeof(buf)) < 0)
		return -1;
	p->out_checkpoint = true;
	p->covered_seq = p->seq;
	p->checkpoints++;
	return 0;
}

/* The timer comes due at the next multiple of checkpoint_ms on the
 * monotonic clock, which every provider of the host shares: their
 * checkpoints over the same operations then reach the association
 * together, and an operation waits for one interval's remainder, not for
 * the latest of N independent ones (N = 3: a median of 0.79 checkpoint_ms
 * against 0.5). Still at most one checkpoint per interval. */
static int arm_timer(struct provider *p)
{
	uint64_t period = (uint64_t)p->cfg->checkpoint_us * 1000u;
	uint64_t due = (clock_ns(CLOCK_MONOTONIC) / period + 1) * period;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(due / 1000000000u),
						.tv_nsec = (long)(due % 1000000000u) } };
	if (timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_errno("timerfd_settime");
		return -1;
	}
	p->timer_armed = true;
	p->checkpoint_due_ns = due;
	return 0;
}

int emit_signal(struct provider *p, uint8_t stage, const uint8_t op[WIRE_DIGEST_LEN],
		const uint8_t value[WIRE_DIGEST_LEN])
{
	struct signal_frame s = { .stage = stage, .t_ns = clock_ns(CLOCK_REALTIME), .seq = p->seq + 1 };
	uint8_t buf[SIGNAL_FRAME_LEN];

	memcpy(s.provider, p->wire_name, sizeof(s.provider));
	memcpy(s.op, op, WIRE_DIGEST_LEN);
	memcpy(s.value, value, WIRE_DIGEST_LEN);
	chain_extend(p->head, &s);
	p->seq = s.seq;
	if (!signal_encode(&s, buf) || queue_frame(p, buf, sizeof(buf)) < 0)
		return -1;
	p->signals++;
	if (p->seq - p->covered_seq >= p->cfg->checkpoint_every)
		return emit_checkpoint(p);
	return p->timer_armed ? 0 : arm_timer(p);
}

/* The armed timer has come due: a checkpoint over what is uncovered. */
static int timer_due(struct provider *p)
{
	p->timer_armed = false;
	return p->seq != p->covered_seq ? emit_checkpoint(p) : 0;
}

/* The drain loop does not return to epoll while artifacts keep coming, so
 * it asks here, by the clock, whether the timer has come due: a signal
 * waits at most checkpoint_ms for its checkpoint, plus a batch or two of
 * artifacts (drain_artifacts). The checkpoint goes out at once, not with
 * the next batch's frames. The timer's own expiry, read later, then finds
 * nothing (or newer signals) to cover. */
bool checkpoint_is_due(const struct provider *p)
{
	return p->timer_armed && clock_ns(CLOCK_MONOTONIC) >= p->checkpoint_due_ns;
}

int checkpoint_if_due(struct provider *p)
{
	if (!checkpoint_is_due(p))
		return 0;
	return timer_due(p) < 0 ? -1 : flush_frames(p);
}

int on_checkpoint_timer(struct provider *p)
{
	uint64_t ticks;
	if (read(p->timer_fd, &ticks, sizeof(ticks)) < 0) {
		if (errno != EAGAIN)
			log_errno("timerfd read");
		/* No expiry: checkpoint_if_due served it in the same round and
		 * the timer was armed again since (which clears the count). */
		return 0;
	}
	return timer_due(p);
}

int start_epoch(struct provider *p)
{
	randombytes_buf(p->epoch, sizeof(p->epoch));
	if (journal_begin_epoch(&p->journal, p->epoch) < 0) {
		log_errno("journal");
		return -1;
	}
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	return emit_checkpoint(p);
}
