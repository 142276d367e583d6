/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's write-ahead journal (journal.h): a header page, then slot
 * pages of JOURNAL_SLOTS_PER_PAGE slots each. */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOURNAL_MAGIC "MPBSJRN1"
/* Slots of one write: a send batch (64 frames) spans at most 4 pages. */
#define RUN_PAGES 8

struct journal_header {
	char magic[8];
	uint64_t first_n;
	uint8_t epoch[WIRE_EPOCH_LEN];
};

struct slot {
	uint64_t n;      /* 0: never written */
	uint16_t len;
	uint8_t frame[CHECKPOINT_FRAME_LEN];
};
_Static_assert(sizeof(struct slot) <= JOURNAL_SLOT, "a slot fits its place");
_Static_assert(JOURNAL_SLOTS_PER_PAGE * JOURNAL_SLOT <= JOURNAL_PAGE, "slots never straddle a page");

static off_t slot_offset(uint64_t n)
{
	uint64_t idx = n % JOURNAL_FRAMES;
	return (off_t)(JOURNAL_PAGE * (1 + idx / JOURNAL_SLOTS_PER_PAGE) + (idx % JOURNAL_SLOTS_PER_PAGE) * JOURNAL_SLOT);
}

static bool slot_sane(const struct slot *s)
{
	if (s->len == SIGNAL_FRAME_LEN)
		return s->frame[1] == WIRE_SIGNAL;
	return s->len == CHECKPOINT_FRAME_LEN && s->frame[1] == WIRE_CHECKPOINT;
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int read_slot(int fd, uint64_t n, struct slot *s)
{
	return read_full(fd, s, sizeof(*s), slot_offset(n));
}

/* The highest n of a whole, sane slot of the epoch (0: none). */
static int find_last(const struct journal *j, uint64_t *last)
{
	static uint8_t page[JOURNAL_PAGE];
	*last = 0;
	for (size_t p = 0; p * JOURNAL_SLOTS_PER_PAGE < JOURNAL_FRAMES; p++) {
		if (read_full(j->fd, page, sizeof(page), (off_t)(JOURNAL_PAGE * (1 + p))) < 0)
			return -1;
		for (size_t i = 0; i < JOURNAL_SLOTS_PER_PAGE && p * JOURNAL_SLOTS_PER_PAGE + i < JOURNAL_FRAMES; i++) {
			struct slot s;
			memcpy(&s, page + i * JOURNAL_SLOT, sizeof(s));
			if (s.n >= j->first_n && s.n > *last && s.n % JOURNAL_FRAMES == p * JOURNAL_SLOTS_PER_PAGE + i &&
			    slot_sane(&s))
				*last = s.n;
		}
	}
	return 0;
}

int journal_open(struct journal *j, int fd)
{
	struct journal_header h;
	uint64_t last;
	*j = (struct journal){ .fd = fd, .first_n = 1, .next_n = 1 };
	if (read_full(fd, &h, sizeof(h), 0) < 0)
		return -1;
	if (memcmp(h.magic, JOURNAL_MAGIC, sizeof(h.magic)) != 0 || h.first_n == 0)
		return 0;
	j->first_n = h.first_n;
	memcpy(j->epoch, h.epoch, sizeof(j->epoch));
	if (find_last(j, &last) < 0)
		return -1;
	if (last == 0) {
		/* the header of an epoch whose first frame never got written */
		j->next_n = j->first_n;
		return 0;
	}
	j->next_n = last + 1;
	/* Writes go forward slot by slot, so the slots before the last whole
	 * one are whole too; the walk checks it rather than assume it. */
	uint64_t oldest = last;
	while (oldest > j->first_n && last - (oldest - 1) < JOURNAL_FRAMES) {
		struct slot s;
		if (read_slot(fd, oldest - 1, &s) < 0)
			return -1;
		if (s.n != oldest - 1 || !slot_sane(&s))
			break;
		oldest--;
	}
	j->first_n = oldest;
	return 1;
}

int journal_begin_epoch(struct journal *j, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	struct journal_header h = { .first_n = j->next_n };
	memcpy(h.magic, JOURNAL_MAGIC, sizeof(h.magic));
	memcpy(h.epoch, epoch, WIRE_EPOCH_LEN);
	if (pwrite(j->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? -1 : (errno = EIO, -1);
	memcpy(j->epoch, epoch, WIRE_EPOCH_LEN);
	j->first_n = j->next_n;
	return 0;
}

/* Writes the slots of frames [0, count) for n = j->next_n onwards that lie
 * in one stretch of the file (no wrap, at most RUN_PAGES pages) with one
 * pwrite; returns how many it wrote, or -1. */
static ssize_t append_run(struct journal *j, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens,
			  size_t count)
{
	static uint8_t buf[RUN_PAGES * JOURNAL_PAGE];
	uint64_t first = j->next_n;
	off_t start = slot_offset(first);
	size_t k = 0, end = 0;
	memset(buf, 0, sizeof(buf));
	while (k < count) {
		uint64_t n = first + k;
		off_t at = slot_offset(n);
		if (k > 0 && n % JOURNAL_FRAMES == 0)
			break; /* the ring wraps: the next write starts at the top */
		if ((size_t)(at - start) + JOURNAL_SLOT > sizeof(buf))
			break;
		struct slot s = { .n = n, .len = (uint16_t)lens[k] };
		memcpy(s.frame, frames[k], lens[k]);
		memcpy(buf + (at - start), &s, sizeof(s));
		end = (size_t)(at - start) + sizeof(s);
		k++;
	}
	ssize_t w = pwrite(j->fd, buf, end, start);
	if (w != (ssize_t)end) {
		if (w >= 0)
			errno = EIO;
		return -1;
	}
	j->next_n += k;
	return (ssize_t)k;
}

int journal_append(struct journal *j, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = append_run(j, frames + done, lens + done, n - done);
		if (k < 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

int journal_for_each(const struct journal *j, journal_frame_fn fn, void *ctx)
{
	uint64_t from = j->first_n;
	if (j->next_n > JOURNAL_FRAMES && from < j->next_n - JOURNAL_FRAMES)
		from = j->next_n - JOURNAL_FRAMES;
	for (uint64_t n = from; n < j->next_n; n++) {
		struct slot s;
		if (read_slot(j->fd, n, &s) < 0)
			return -1;
		if (s.n != n || !slot_sane(&s)) {
			errno = EIO;
			return -1;
		}
		int rc = fn(ctx, s.frame, s.len);
		if (rc)
			return rc;
	}
	return 0;
}
