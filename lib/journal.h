/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's write-ahead journal: every frame it sends (signals and
 * checkpoints) is written here first, in order, into a ring that outlives
 * the provider process. The ring lives in a memfd that the supervisor makes,
 * seals at a fixed size and holds across the provider's restarts; the
 * supervisor never reads it, and no other role holds it.
 *
 * It lets a provider keep every promise a kill could break
 * (docs/RELIABILITY.md):
 *  - a restarted provider resumes its epoch (seq and chain head from the
 *    ring's last frame), sends the ring again and covers it with a signed
 *    checkpoint, so signals made before the kill still count;
 *  - it recognises the artifacts at the head of its channel that it had
 *    already signalled (their operation ids are in the ring) and consumes
 *    them without signalling twice;
 *  - when the association restarts, the supervisor asks it to send the ring
 *    again: whatever the dead association had read but not recorded comes
 *    back, and the association skips what its ledger holds by (provider, pseq).
 *
 * A frame is in the ring before it is sent, and an artifact's signals are in
 * it before the artifact is consumed. Slots never straddle a 4 KiB page, and
 * the kernel copies a page of a write whole before it checks for a fatal
 * signal, so a kill leaves whole slots: the ring is read back up to its last
 * whole slot. */
#ifndef MPBS_JOURNAL_H
#define MPBS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Frames the ring holds. It must exceed what one kill of the association
 * can leave unrecorded behind the frames still queued in a signal channel:
 * the channel's capacity in frames (runner/plan.c SIGNAL_SNDBUF; a unit test
 * measures it), one read batch of the association and one send batch of the
 * provider. The association keeps as many chain values per provider to tell
 * a resent frame from a different one with the same pseq. */
#define JOURNAL_FRAMES 4096
#define JOURNAL_PAGE 4096
#define JOURNAL_SLOT 168 /* n (8), length (2), frame (156), padding */
#define JOURNAL_SLOTS_PER_PAGE (JOURNAL_PAGE / JOURNAL_SLOT)
/* A header page, then the slot pages. */
#define JOURNAL_BYTES \
	((size_t)JOURNAL_PAGE * (1 + (JOURNAL_FRAMES + JOURNAL_SLOTS_PER_PAGE - 1) / JOURNAL_SLOTS_PER_PAGE))

struct journal {
	int fd;
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t first_n;   /* n of the epoch's first frame */
	uint64_t next_n;    /* n the next frame gets (n starts at 1) */
};

/* One frame read back from the ring. */
typedef int (*journal_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Reads the ring left by an earlier incarnation on fd. Returns 1 when it
 * holds an epoch with at least one frame (j->epoch, first_n, next_n set),
 * 0 when it holds none (a fresh memfd, or nothing whole), -1 on a read
 * error (errno). */
int journal_open(struct journal *j, int fd);

/* Starts a new epoch: the ring forgets the frames of the previous one. */
int journal_begin_epoch(struct journal *j, const uint8_t epoch[WIRE_EPOCH_LEN]);

/* Writes frames (each SIGNAL_FRAME_LEN or CHECKPOINT_FRAME_LEN bytes) at
 * the ring's head. Returns 0, or -1 with errno. */
int journal_append(struct journal *j, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens, size_t n);

/* Calls fn for every frame of the current epoch the ring still holds,
 * oldest first; stops at fn's first non-zero return and returns it.
 * Returns 0, or -1 with errno on a read error. */
int journal_for_each(const struct journal *j, journal_frame_fn fn, void *ctx);

#endif
