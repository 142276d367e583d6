/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the association share: its state, and the functions one
 * file offers the others. frames.c reads and checks a provider's frames,
 * record.c writes outcomes, commit.c makes them durable and reports them,
 * segments.c rotates the ledger's segments, rebuild.c walks the live segment
 * at start, association.c runs the loop. */
#ifndef MPBS_ASSOCIATION_INTERNAL_H
#define MPBS_ASSOCIATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../lib/clock.h"
#include "../../lib/chain.h"
#include "../../lib/journal.h"
#include "../../lib/ledger.h"
#include "../../lib/log.h"
#include "../../lib/wire.h"
#include "../role_counters.h"
#include "association.h"
#include "../../lib/ledger2.h"
#include "pending.h"
#include "syncer.h"


/* Which pseqs a peer's recent_chain keeps (above). */
#define RECENT_EVERY 4
#define RECENT_SLOTS (JOURNAL_FRAMES / RECENT_EVERY)
_Static_assert(JOURNAL_FRAMES % RECENT_EVERY == 0, "a kept pseq's slot is taken again only a window later");

struct peer {
	const struct association_provider *cfg;
	struct chain_state chain;
	/* Its signals not yet covered by a checkpoint, in the ledger's own
	 * shape (a rotation writes them into the next segment's first record);
	 * capacity cfg->checkpoint_every. A slice of association.peer_pages. */
	struct l2_uncovered *queue;
	uint32_t queued;
	/* The first 4 bytes of the chain after every RECENT_EVERY-th of its
	 * last JOURNAL_FRAMES signals (index pseq / RECENT_EVERY % RECENT_SLOTS):
	 * a frame sent again from its journal is told from a different one
	 * claiming the same pseq. A chain covers all before it, so a history
	 * that differs from pseq d on differs at every kept pseq from d on: a
	 * journal's copy shows it within RECENT_EVERY - 1 frames (after a
	 * rebuild, from the first kept pseq at or past recent_from), at the
	 * chain's own head (compared whole) at the latest, and a frame past the
	 * head by not extending it; a copy that stops short of all of them
	 * shows when it is sent on. The frames between are dropped as resends,
	 * which is what the provider gets by not sending them. Four bytes of
	 * every fourth pseq, because this is per provider resident memory (4
	 * KiB each; every pseq's, 1 MiB with 64 providers, put the association
	 * past 4 MiB). A different prefix that matches by chance (once in 2^32)
	 * is caught at the next kept pseq. A slice of association.peer_pages. */
	uint32_t *recent_chain;
	/* recent_chain holds nothing below this pseq: a rebuild starts from a
	 * segment's stated state, without the chains before it. */
	uint64_t recent_from;
	/* Since this association started, no frame has extended its chain: a
	 * gap is what a killed predecessor read and never recorded, and the
	 * provider's journal fills it when the supervisor asks; frames ahead
	 * of the gap are held back (they come again) rather than rejected. */
	bool resyncing;
	/* Set with resyncing when the rebuild left it uncovered signals: the
	 * checkpoint covering them may be one the killed predecessor read and
	 * never recorded, a gap its pseq does not show (a checkpoint takes the
	 * pseq of its last signal). Its only copy is in the journal, behind
	 * what the channel queues, so every frame past the recorded seq is
	 * held back until the journal's copy reaches back to it (a frame at or
	 * below the recorded seq); taken before, the next signals would pile
	 * on the uncovered ones past checkpoint_every and end its trust. A
	 * copy that starts just past the recorded seq shows only by the next
	 * pseq coming a second time: taken then (await_next_held). */
	bool await_journal;
	bool await_next_held;
	uint64_t resent;           /* frames skipped: its ledger already held them */
	uint64_t held;             /* frames ahead of a gap while resyncing */
	uint64_t held_in_gap;      /* of them, behind the gap it is in now */
	uint64_t ignored;          /* frames dropped while untrusted */
	uint64_t over_quota;       /* operations not tracked: at its pending quota */
	uint64_t evicted;          /* its own operations recorded incomplete to make room */
	struct wire_stats wire;
};

/* A confirmation waiting for the sync that makes it durable before it is
 * logged: 33 bytes instead of its ~100-byte log line, since at saturation a
 * slow fdatasync lets thousands of them queue. */
struct reported {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t n_providers;
};

struct association {
	const struct association_config *cfg;
	struct peer *peers;
	void *peer_pages;          /* every peer's recent_chain and queue, one mapping (peers_init) */
	size_t peer_pages_len;
	struct pending_table pending;
	struct l2_writer ledger;
	int spare_fd;              /* the next live segment, from the supervisor (-1: none yet) */
	bool rotate_wanted;        /* the live segment is full or old: rotate when no sync runs */
	struct reported *report;   /* confirmations, logged after the commit */
	size_t report_len, report_cap; /* in entries */
	uint64_t confirmed, incomplete, rejected;
	uint64_t signals, checkpoints;  /* frames read from the providers (not the rebuild's) */
	struct role_counters_report counters; /* to the supervisor (role_counters.h) */
	bool replaying;            /* rebuilding from the ledger: nothing is written */
	struct syncer sync;        /* fdatasync off the loop (syncer.h) */
	bool sync_in_flight;
	uint64_t sync_seq;         /* the in-flight sync makes records up to this seq durable */
	size_t sync_report_end;    /* and lets report[0, this) be printed */
	uint8_t head_sk[64];       /* its own Ed25519 key: signs ledger heads, never an outcome */
	uint64_t head_record_seq;  /* number of the last record a head covers or is */
	uint64_t head_ms;          /* CLOCK_MONOTONIC ms of the last head */
	struct ledger_head last_head; /* the last head it wrote (seq 0: none yet) */
};

/* The time a block is stamped with. */
static inline uint64_t ledger_now(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* frames.c: reading and checking a provider's frames. */
/* Reads up to one batch of frames from provider who's channel; *more is set
 * when the channel may hold more. */
int peer_read_channel(struct association *as, size_t who, bool *more);
/* One decoded signal or checkpoint of provider who (the rebuild feeds the
 * ledger's through them too). */
int peer_on_signal(struct association *as, size_t who, const struct signal_frame *s);
int peer_on_checkpoint(struct association *as, size_t who, const struct checkpoint_frame *c);

/* record.c: the records of outcomes. */
/* A `rejected` record: pr's frame did not hold. */
int record_rejected(struct association *as, struct peer *pr, const char *reason);
/* The `confirmed` record of e, reported once the sync covers it. */
int record_confirmation(struct association *as, struct pending_op *e);
/* e leaves the pending table; `incomplete` unless it was confirmed. */
int record_expire(struct association *as, struct pending_op *e);
/* Expires every operation older than pending_timeout. */
int record_expire_aged(struct association *as);

/* commit.c: the group commit. */
/* Writes everything buffered (no sync). */
int commit_write(struct association *as);
/* Records are written at the end of each round (commit_round), except while
 * an fdatasync runs: then they wait in memory until it is done, or until
 * this much is buffered. A kill loses at most this much plus a round,
 * which the providers' journals send again (lib/journal.h counts it). */
#define LEDGER_WRITE_AT 16384
static inline int commit_if_large(struct association *as)
{
	return as->ledger.len >= LEDGER_WRITE_AT ? commit_write(as) : 0;
}
/* The end of a loop round: write, sign a head when due, start a sync. */
int commit_round(struct association *as);
/* The syncer's eventfd was readable. */
int commit_on_synced(struct association *as);
/* At stop: a head, a write and a sync here, then every report. */
int commit_final(struct association *as);
/* Buffers a signed head over everything so far (seal: the segment's last). */
int commit_head(struct association *as, bool seal);

/* rebuild.c: a restarted association's state from its own ledger (or a
 * fresh ledger begun). Returns 0, -1 on an error (logged), or the exit
 * status of a live segment that cannot be continued (reported). */
int rebuild_from_ledger(struct association *as);

/* segments.c: rotation (docs/LEDGER.md "Files"). */
/* The first segment of a fresh ledger. */
int segments_begin_first(struct association *as);
/* The live segment ends with its seal (a kill between the seal and the
 * next segment's first block): waits for the spare, which the supervisor
 * sends at start, and begins the next segment in it. Before the seal. */
int segments_continue_sealed(struct association *as);
/* The segments socket was readable: a spare from the supervisor. */
int segments_on_message(struct association *as);
/* At the end of a group commit: rotates when the live segment is due and a
 * spare is at hand, no sync running. */
int segments_rotate_if_due(struct association *as);

#endif
