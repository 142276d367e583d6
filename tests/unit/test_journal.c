/* SPDX-License-Identifier: Apache-2.0 */
/* unit_journal: the provider's write-ahead journal (lib/journal.c) in a
 * sealed memfd as the supervisor makes it (runner/memfd.c): frames come back
 * in order, the ring keeps its last JOURNAL_FRAMES, a torn slot ends it, a
 * new epoch forgets the old one, and the ring outlasts what a signal
 * channel can queue. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/journal.h"
#include "../../runner/channels.h"
#include "../../runner/memfd.h"
#include "../../roles/association/association_internal.h"
#include "../../roles/provider/provider_internal.h"
#include "../../runner/plan.h"

static int new_journal_fd(void)
{
	char err[256];
	int fd = sealed_memfd("test-journal", JOURNAL_BYTES, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	return fd;
}

/* Frame k: a signal (or every 5th a checkpoint) whose bytes say k. */
static unsigned make_frame(uint64_t k, uint8_t out[CHECKPOINT_FRAME_LEN])
{
	bool ckpt = k % 5 == 0;
	memset(out, 0, CHECKPOINT_FRAME_LEN);
	out[0] = WIRE_VERSION;
	out[1] = ckpt ? WIRE_CHECKPOINT : WIRE_SIGNAL;
	memcpy(out + 8, &k, sizeof(k));
	return ckpt ? CHECKPOINT_FRAME_LEN : SIGNAL_FRAME_LEN;
}

static void append_range(struct journal *j, uint64_t from, uint64_t to)
{
	uint8_t frames[64][CHECKPOINT_FRAME_LEN];
	unsigned lens[64];
	while (from < to) {
		size_t n = 0;
		for (; n < 64 && from < to; n++, from++)
			lens[n] = make_frame(from, frames[n]);
		cr_assert_eq(journal_append(j, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])frames, lens, n), 0,
			     "append: %s", strerror(errno));
	}
}

struct seen {
	uint64_t first, last, count;
	bool in_order;
};

static int see(void *ctx, const uint8_t *frame, size_t len)
{
	struct seen *s = ctx;
	uint64_t k;
	uint8_t expect[CHECKPOINT_FRAME_LEN];
	memcpy(&k, frame + 8, sizeof(k));
	unsigned want = make_frame(k, expect);
	if (len != want || memcmp(frame, expect, len) != 0 || (s->count && k != s->last + 1))
		s->in_order = false;
	if (s->count++ == 0)
		s->first = k;
	s->last = k;
	return 0;
}

static struct seen read_back(const struct journal *j)
{
	struct seen s = { .in_order = true };
	cr_assert_eq(journal_for_each(j, see, &s), 0, "read back: %s", strerror(errno));
	return s;
}

static const uint8_t epoch_a[WIRE_EPOCH_LEN] = { 0xa };
static const uint8_t epoch_b[WIRE_EPOCH_LEN] = { 0xb };

Test(unit_journal, a_fresh_memfd_holds_nothing)
{
	struct journal j;
	int fd = new_journal_fd();
	cr_assert_eq(journal_open(&j, fd), 0);
	cr_assert_eq(j.next_n, 1);
	close(fd);
}

Test(unit_journal, frames_come_back_in_order_after_a_reopen)
{
	struct journal j, again;
	int fd = new_journal_fd();
	cr_assert_eq(journal_open(&j, fd), 0);
	cr_assert_eq(journal_begin_epoch(&j, epoch_a), 0);
	append_range(&j, 1, 301);
	cr_assert_eq(journal_open(&again, fd), 1, "a restart must find the epoch");
	cr_assert_arr_eq(again.epoch, epoch_a, WIRE_EPOCH_LEN);
	cr_assert_eq(again.next_n, 301);
	struct seen s = read_back(&again);
	cr_assert(s.in_order, "frames out of order or changed");
	cr_assert_eq(s.first, 1);
	cr_assert_eq(s.last, 300);
	cr_assert_eq(s.count, 300);
	close(fd);
}

Test(unit_journal, the_ring_keeps_the_last_frames_across_wraps)
{
	struct journal j, again;
	int fd = new_journal_fd();
	cr_assert_eq(journal_open(&j, fd), 0);
	cr_assert_eq(journal_begin_epoch(&j, epoch_a), 0);
	uint64_t total = 2 * JOURNAL_FRAMES + 777;
	append_range(&j, 1, total + 1);
	cr_assert_eq(journal_open(&again, fd), 1);
	struct seen s = read_back(&again);
	cr_assert(s.in_order);
	cr_assert_eq(s.count, JOURNAL_FRAMES, "%lu frames kept", (unsigned long)s.count);
	cr_assert_eq(s.last, total);
	cr_assert_eq(s.first, total - JOURNAL_FRAMES + 1);
	close(fd);
}

/* A kill inside a write leaves whole slots up to a point: the frames after
 * it were never sent (they are written before sending), so the ring ends
 * at the last whole one. */
Test(unit_journal, a_torn_slot_ends_the_ring)
{
	struct journal j, again;
	int fd = new_journal_fd();
	cr_assert_eq(journal_open(&j, fd), 0);
	cr_assert_eq(journal_begin_epoch(&j, epoch_a), 0);
	append_range(&j, 1, 101);
	/* slot of frame 100 never written: what a kill before its page leaves */
	uint8_t zero[JOURNAL_SLOT] = { 0 };
	uint64_t idx = 100 % JOURNAL_FRAMES;
	off_t at = (off_t)(JOURNAL_PAGE * (1 + idx / JOURNAL_SLOTS_PER_PAGE) + (idx % JOURNAL_SLOTS_PER_PAGE) * JOURNAL_SLOT);
	cr_assert_eq(pwrite(fd, zero, sizeof(zero), at), (ssize_t)sizeof(zero));
	cr_assert_eq(journal_open(&again, fd), 1);
	struct seen s = read_back(&again);
	cr_assert(s.in_order);
	cr_assert_eq(s.last, 99);
	cr_assert_eq(again.next_n, 100);
	close(fd);
}

Test(unit_journal, a_new_epoch_forgets_the_old_one)
{
	struct journal j, again;
	int fd = new_journal_fd();
	cr_assert_eq(journal_open(&j, fd), 0);
	cr_assert_eq(journal_begin_epoch(&j, epoch_a), 0);
	append_range(&j, 1, 51);
	cr_assert_eq(journal_begin_epoch(&j, epoch_b), 0);
	cr_assert_eq(journal_open(&again, fd), 0, "a new epoch without frames holds nothing to resume");
	append_range(&j, 51, 61);
	cr_assert_eq(journal_open(&again, fd), 1);
	cr_assert_arr_eq(again.epoch, epoch_b, WIRE_EPOCH_LEN);
	struct seen s = read_back(&again);
	cr_assert_eq(s.first, 51, "the old epoch's frames must not be sent again");
	cr_assert_eq(s.count, 10);
	close(fd);
}

Test(unit_journal, the_memfd_cannot_grow_or_shrink)
{
	int fd = new_journal_fd();
	cr_assert_eq(pwrite(fd, "x", 1, (off_t)JOURNAL_BYTES), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(fd, 0), -1);
	cr_assert_eq(errno, EPERM);
	close(fd);
}

/* Frames a signal channel queues before a send would block, sent k to a
 * datagram (a busy provider sends full datagrams and one with each
 * checkpoint). */
static size_t channel_capacity(size_t k)
{
	struct channel c;
	char err[256];
	static uint8_t frames[SIGNAL_DATAGRAM_FRAMES * SIGNAL_FRAME_LEN];
	cr_assert_eq(channel_open(&c, SIGNAL_SNDBUF, err, sizeof(err)), 0, "%s", err);
	size_t queued = 0;
	while (send(c.writer, frames, k * SIGNAL_FRAME_LEN, MSG_DONTWAIT) == (ssize_t)(k * SIGNAL_FRAME_LEN))
		queued += k;
	cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
	channel_close(&c);
	return queued;
}

/* What a killed association can leave unrecorded sits behind what the
 * signal channel still queues: the ring must reach past both, however the
 * frames are packed into datagrams. */
Test(unit_journal, the_ring_outlasts_a_full_signal_channel)
{
	size_t one = channel_capacity(1), full = channel_capacity(SIGNAL_DATAGRAM_FRAMES);
	size_t queued = one > full ? one : full;
	/* what the association holds unwritten (LEDGER_WRITE_AT bytes of the
	 * smallest signal entries, 34 bytes: a reference, a value, a delta)
	 * plus one read batch of it, and what a provider journals before it
	 * sends (OUT_BATCH) */
	size_t need = queued + LEDGER_WRITE_AT / 34 + (size_t)ASSOCIATION_READ_DATAGRAMS * SIGNAL_DATAGRAM_FRAMES +
		      OUT_BATCH;
	cr_log_info("a signal channel queues %zu frames one to a datagram, %zu %d to a datagram; the journal keeps %d",
		    one, full, SIGNAL_DATAGRAM_FRAMES, JOURNAL_FRAMES);
	cr_assert_lt(need, (size_t)JOURNAL_FRAMES, "a channel queues %zu frames: the journal (%d) must keep more than %zu",
		     queued, JOURNAL_FRAMES, need);
}
