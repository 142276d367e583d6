/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "in_write.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "batch.h"
#include "logline.h"
#include "state_map.h"

static struct bridge_in_state *in_state(struct in_lane *l)
{
	return &l->c.state->u.in;
}

/* Waits until the channel takes more, while still answering stop: once
 * stopping, only INW_STOP_GRACE_MS more. Returns 0, or 1 to give up. */
static int wait_writable(struct in_lane *l, int64_t *stop_seen_ms)
{
	for (;;) {
		bool stopping = atomic_load(&l->c.stopping);
		int64_t now = lane_now_ms();
		if (stopping && *stop_seen_ms == 0)
			*stop_seen_ms = now;
		if (stopping && now - *stop_seen_ms >= INW_STOP_GRACE_MS)
			return 1;
		struct pollfd p[2] = { { .fd = l->c.arg->channel_fd, .events = POLLOUT },
				       { .fd = l->c.stop_fd, .events = POLLIN } };
		int r = poll(p, stopping ? 1 : 2, 1000);
		if (r < 0 && errno != EINTR)
			lane_fatal(&l->c, "poll channel fd %d: %s", l->c.arg->channel_fd, strerror(errno));
		if (r > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
	}
}

/* One channel message, one send: the sendto call, which carries no
 * control data, so no fd can go along with a frame into the role that
 * reads the lane, whatever the kernel's SO_PASSRIGHTS (the policy allows
 * no sendmsg). Returns 0 (written, or refused by its size and logged), or
 * 1 when a stop cut the wait short. */
static int send_one(struct in_lane *l, const uint8_t *m, uint32_t len)
{
	int64_t stop_seen = 0;
	for (;;) {
		ssize_t n = send(l->c.arg->channel_fd, m, len, INW_SEND_FLAGS);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			lane_fatal(&l->c, "channel fd %d took %zd of %u bytes", l->c.arg->channel_fd, n, len);
		if (errno == EMSGSIZE) {
			/* larger than the channel carries: the sender's fault */
			bridge_warning("%s: a channel message of %u bytes is over the channel's size; dropped", l->c.name,
				       len);
			l->n.malformed++;
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lane_fatal(&l->c, "write channel fd %d: %s", l->c.arg->channel_fd, strerror(errno));
		if (errno != EINTR && wait_writable(l, &stop_seen))
			return 1;
	}
}

static void ring_copy_in(struct bridge_in_state *st, uint64_t at, const void *src, size_t len)
{
	size_t off = (size_t)(at % BRIDGE_REPLAY_BYTES);
	size_t first = len < BRIDGE_REPLAY_BYTES - off ? len : BRIDGE_REPLAY_BYTES - off;
	memcpy(st->replay + off, src, first);
	memcpy(st->replay, (const uint8_t *)src + first, len - first);
}

static void ring_copy_out(const struct bridge_in_state *st, uint64_t at, void *dst, size_t len)
{
	size_t off = (size_t)(at % BRIDGE_REPLAY_BYTES);
	size_t first = len < BRIDGE_REPLAY_BYTES - off ? len : BRIDGE_REPLAY_BYTES - off;
	memcpy(dst, st->replay + off, first);
	memcpy((uint8_t *)dst + first, st->replay, len - first);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Keeps a written message for replay: the oldest records it overwrites
 * are dropped first (replay_start), then it is written, then replay_end
 * moves: a kill anywhere leaves a ring of whole records. */
static void ring_push(struct in_lane *l, const uint8_t *m, uint32_t len)
{
	struct bridge_in_state *st = in_state(l);
	if (len > BRIDGE_REPLAY_MSG_MAX)
		return;
	uint64_t need = 4 + (uint64_t)len;
	while (st->replay_end - st->replay_start + need > BRIDGE_REPLAY_BYTES) {
		uint8_t head[4];
		ring_copy_out(st, st->replay_start, head, 4);
		st->replay_start += 4 + (uint64_t)le32(head);
		if (st->replay_start > st->replay_end) /* only a damaged ring: start afresh */
			st->replay_start = st->replay_end;
		state_barrier();
	}
	uint8_t head[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
	ring_copy_in(st, st->replay_end, head, 4);
	ring_copy_in(st, st->replay_end + 4, m, len);
	state_barrier();
	st->replay_end += need;
	state_barrier();
}

int inw_replay_if_asked(struct in_lane *l)
{
	if (l->c.arg->kind != LANE_SIG || atomic_exchange(&l->replay_requests, 0) == 0)
		return 0;
	const struct bridge_in_state *st = in_state(l);
	uint8_t msg[BRIDGE_REPLAY_MSG_MAX];
	uint64_t at = st->replay_start, end = st->replay_end, count = 0;
	while (end - at >= 4) {
		uint8_t head[4];
		ring_copy_out(st, at, head, 4);
		uint32_t len = le32(head);
		if (len > BRIDGE_REPLAY_MSG_MAX || len > end - at - 4) {
			bridge_error("%s: replay ring damaged at byte %llu; replay stopped", l->c.name,
				     (unsigned long long)at);
			break;
		}
		ring_copy_out(st, at + 4, msg, len);
		if (send_one(l, msg, len))
			return 1;
		at += 4 + (uint64_t)len;
		count++;
	}
	bridge_info("%s: replayed %llu channel messages", l->c.name, (unsigned long long)count);
	return 0;
}

/* Before its first write of seq: partial_done, then partial_seq, so a kill
 * between leaves an older partial_seq with 0 done (never below
 * delivered_seq's, which skips it anyway). */
static uint32_t begin_message(struct bridge_in_state *st, uint64_t seq)
{
	if (st->partial_seq == seq)
		return st->partial_done;
	st->partial_done = 0;
	state_barrier();
	st->partial_seq = seq;
	state_barrier();
	return 0;
}

int inw_deliver(struct in_lane *l, uint64_t seq, const uint8_t *p, size_t len)
{
	struct bridge_in_state *st = in_state(l);
	uint32_t done = begin_message(st, seq);
	uint32_t index = 0;
	struct batch_iter it;
	const uint8_t *m;
	uint32_t mlen;
	enum batch_step step;
	batch_iter_init(&it, p, len);
	while ((step = batch_next(&it, &m, &mlen)) == BATCH_RECORD) {
		if (index++ < done || mlen == 0)
			continue; /* written before the restart; or empty, which no out lane sends */
		if (inw_replay_if_asked(l) || send_one(l, m, mlen))
			return 1;
		/* A kill here, after the write and before partial_done, writes
		 * this message once more after the restart: the receivers
		 * de-duplicate (the association by provider and pseq, a
		 * provider by the artifacts its journal holds). */
		if (l->c.arg->kind == LANE_SIG)
			ring_push(l, m, mlen);
		st->partial_done = index;
		state_barrier();
		l->n.msgs++;
		l->n.bytes += mlen;
	}
	if (step == BATCH_MALFORMED) {
		bridge_warning("%s: stream message %llu is malformed at byte %zu of %zu (a record past its end); "
			       "the %u messages before written, the rest dropped",
			       l->c.name, (unsigned long long)seq, it.off, len, index);
		l->n.malformed++;
	}
	st->delivered_seq = seq;
	state_barrier();
	l->n.batches++;
	return 0;
}

void inw_skip(struct in_lane *l, uint64_t seq)
{
	/* one store, as at the end of inw_deliver: a kill before it reads
	 * the gap again and finds the message missing again */
	in_state(l)->delivered_seq = seq;
	state_barrier();
}
