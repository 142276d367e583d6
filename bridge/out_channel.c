/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "out_channel.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "batch.h"
#include "logline.h"

int outch_rewind(struct out_lane *l)
{
	/* the kernel's peek offset is an int of bytes */
	if (l->peek_off > INT_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	int off = (int)l->peek_off;
	return setsockopt(l->c.arg->channel_fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
}

int outch_setup(struct out_lane *l, char *err, size_t errlen)
{
	/* one buffer per peeked message, each able to hold the largest
	 * message a batch can carry; malloc leaves untouched pages unbacked */
	l->scratch_cap = l->batch_bytes - 4;
	l->scratch = malloc(OUTCH_PEEK_MSGS * l->scratch_cap);
	if (!l->scratch) {
		snprintf(err, errlen, "%s: peek buffers: out of memory", l->c.name);
		return -1;
	}
	l->consume_vec = calloc(OUTCH_CONSUME_MSGS, sizeof(struct mmsghdr));
	if (!l->consume_vec) {
		snprintf(err, errlen, "%s: consume vector: out of memory", l->c.name);
		return -1;
	}
	l->peek_off = 0;
	if (outch_rewind(l) < 0) {
		snprintf(err, errlen, "%s: channel fd %d: SO_PEEK_OFF: %s", l->c.name, l->c.arg->channel_fd,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int peek_round(struct out_lane *l, unsigned want, struct mmsghdr *mm, struct iovec *iov)
{
	for (unsigned i = 0; i < want; i++) {
		iov[i] = (struct iovec){ l->scratch + i * l->scratch_cap, l->scratch_cap };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	int got;
	do
		got = recvmmsg(l->c.arg->channel_fd, mm, want, OUTCH_PEEK_FLAGS, NULL);
	while (got < 0 && errno == EINTR);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return got;
}

/* Appends a peeked message to b's payload. Returns false when it does
 * not fit batch_bytes (the batch is full). */
static bool append_msg(struct out_lane *l, struct out_batch *b, const uint8_t *data, uint32_t len)
{
	size_t used = batch_put(b->payload, l->batch_bytes, b->payload_len, data, len);
	if (used == 0)
		return false;
	b->payload_len = (uint32_t)used;
	b->channel_bytes += len;
	b->msgs++;
	l->peek_off += len;
	return true;
}

/* Takes the peeked messages that fit; returns how many of the round's
 * entries it took. Fewer than got: the batch is full, or the entry it
 * stopped at is a message no batch can carry, whose length goes to
 * *oversize (MSG_TRUNC: its whole length, of which only scratch_cap bytes
 * were peeked). */
static int take_round(struct out_lane *l, struct out_batch *b, unsigned max_msgs, const struct mmsghdr *mm,
		      const struct iovec *iov, int got, size_t *oversize)
{
	int i;
	for (i = 0; i < got && b->msgs < max_msgs; i++) {
		size_t len = mm[i].msg_len;
		if (len > l->scratch_cap) {
			*oversize = len;
			break;
		}
		/* an empty message carries nothing (the peeks step over it,
		 * outch_consume consumes it in its turn) */
		if (len == 0) {
			l->n.skipped++;
			continue;
		}
		if (!append_msg(l, b, iov[i].iov_base, (uint32_t)len))
			break;
	}
	return i;
}

/* Consumes the message at the channel's head, len bytes that no batch
 * can carry. Called only with nothing in flight and nothing taken into
 * the batch being built (l->peek_off == 0): it is inside no batch a state
 * slot records, so no restart can look for it. The empty messages the
 * peeks passed over before it go with it. Dropped, not fatal: a lane that
 * exited here would meet it again at every restart, and one sender would
 * stall every lane of its host. Returns 0, or -1 (errno). */
static int drop_head(struct out_lane *l, size_t len)
{
	struct mmsghdr mm;
	int got;
	do {
		mm = (struct mmsghdr){ 0 };
		got = recvmmsg(l->c.arg->channel_fd, &mm, 1, OUTCH_CONSUME_FLAGS, NULL);
	} while ((got < 0 && errno == EINTR) || (got == 1 && mm.msg_len == 0));
	if (got <= 0) {
		if (got == 0 || errno == EAGAIN)
			errno = ENODATA; /* someone else read the channel */
		return -1;
	}
	if (mm.msg_len != len)
		bridge_error("%s: dropped a channel message of %u bytes where %zu were peeked", l->c.name, mm.msg_len,
			     len);
	bridge_warning("%s: a channel message of %zu bytes is larger than --batch-bytes %u allows (%zu); dropped",
		       l->c.name, len, l->batch_bytes, l->scratch_cap);
	l->n.malformed++;
	return outch_rewind(l);
}

/* One round of peeks into b. Returns 1 to peek more, 0 when the batch or
 * the channel has no more, -1 (errno). */
static int peek_more(struct out_lane *l, struct out_batch *b, unsigned max_msgs)
{
	struct mmsghdr mm[OUTCH_PEEK_MSGS];
	struct iovec iov[OUTCH_PEEK_MSGS];
	unsigned want = max_msgs - b->msgs < OUTCH_PEEK_MSGS ? max_msgs - b->msgs : OUTCH_PEEK_MSGS;
	int got = peek_round(l, want, mm, iov);
	if (got <= 0)
		return got;
	uint32_t msgs_before = b->msgs;
	size_t oversize = 0;
	int took = take_round(l, b, max_msgs, mm, iov, got, &oversize);
	/* a round of nothing but empty entries: the writer is gone (a
	 * closed channel fills every entry with its end) */
	if (took == got && b->msgs == msgs_before)
		return 0;
	if (took < got) {
		/* peeked past what the batch holds (or into a message it
		 * cannot hold): the next peek must start where the batch ends */
		if (outch_rewind(l) < 0)
			return -1;
		/* a message too large at the head is dropped; behind a batch
		 * it ends the batch and waits to be the head */
		if (oversize && l->peek_off == 0)
			return drop_head(l, oversize) < 0 ? -1 : 1;
		return 0;
	}
	return (unsigned)got < want ? 0 : 1;
}

int outch_peek_into(struct out_lane *l, struct out_batch *b, unsigned max_msgs)
{
	unsigned before = b->msgs;
	int more = 1;
	while (more == 1 && b->msgs < max_msgs)
		more = peek_more(l, b, max_msgs);
	return more < 0 ? -1 : (int)(b->msgs - before);
}

int outch_consume(struct out_lane *l, const struct out_batch *b)
{
	uint32_t left = b->msgs;
	uint64_t bytes = 0;
	while (left > 0) {
		/* One call for the whole batch where the kernel allows
		 * (UIO_MAXIOV entries): a kill between two calls would leave
		 * the batch half consumed, and its rest is then taken for new
		 * messages (sent twice, never lost). No buffers: the messages
		 * are dropped whole; MSG_TRUNC makes msg_len their length. */
		struct mmsghdr *mm = l->consume_vec;
		unsigned want = left < OUTCH_CONSUME_MSGS ? left : OUTCH_CONSUME_MSGS;
		memset(mm, 0, want * sizeof(*mm));
		int got = recvmmsg(l->c.arg->channel_fd, mm, want, OUTCH_CONSUME_FLAGS, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0 || errno == EAGAIN)
				errno = ENODATA; /* the batch's messages are gone: someone else read the channel */
			return -1;
		}
		for (int i = 0; i < got; i++) {
			if (mm[i].msg_len == 0)
				continue;
			left--;
			bytes += mm[i].msg_len;
		}
	}
	if (bytes != b->channel_bytes)
		bridge_error("%s: batch %llu consumed %llu bytes, %u were peeked", l->c.name, (unsigned long long)b->seq,
			     (unsigned long long)bytes, b->channel_bytes);
	l->peek_off = l->peek_off >= b->channel_bytes ? l->peek_off - b->channel_bytes : 0;
	return 0;
}
