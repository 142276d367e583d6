/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the provider share: its state, and the functions one
 * file offers the others. artifacts.c reads and decides the artifacts,
 * initiate.c does what a decision to initiate asks (signals, or a handler
 * around them), emit.c makes the chain's frames and sends them, resend.c
 * sends its journal again after a restart, provider.c runs the loop. */
#ifndef MPBS_PROVIDER_INTERNAL_H
#define MPBS_PROVIDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/wire.h"
#include "../role_counters.h"
#include "channel_read.h"
#include "decide.h"
#include "exec.h"
#include "../../lib/journal.h"
#include "policy.h"
#include "provider.h"

/* Tags of the loop's epoll events: its own fds, then per handler slot i
 * its pidfd and its output pipe. */
#define TAG_ARTIFACT 0
#define TAG_STOP 1
#define TAG_TIMER 2
#define TAG_CONTROL 3
#define TAG_HANDLER(i) (16 + 2 * (uint64_t)(i))     /* its pidfd */
#define TAG_HANDLER_OUT(i) (17 + 2 * (uint64_t)(i)) /* its output pipe */

/* Frames queued before they must go out: the signals of a checkpoint
 * interval (checkpoint_every, 256 by default) and their checkpoint fit, so
 * under load they leave together, datagrams of SIGNAL_DATAGRAM_FRAMES by
 * one sendmmsg, instead of a sendmmsg (and a wake-up of the association)
 * per datagram. */
#define OUT_BATCH (5 * SIGNAL_DATAGRAM_FRAMES)
/* Artifacts handled before their signals are journaled and their messages
 * consumed, whatever PEEK_MSGS allows. With the message that reaches it (at
 * most frame_cap / ARTIFACT_HDR_LEN artifacts) their two signals each stay
 * within the journal's ring, which a restart recognises them from, while
 * max_request is under about 160 KiB (docs/RELIABILITY.md). */
#define BATCH_ARTIFACTS 256
/* After a restart, the operations of the ring's signals: the artifacts
 * still at the channel's head that were already signalled are among them
 * (those of the first PEEK_MSGS messages it reads). */
#define RECENT_OPS JOURNAL_FRAMES
/* Random values drawn at once into the pool START and COMPLETE values come
 * from (initiate.c). */
#define RANDOM_POOL_VALUES 64

/* A running action handler and the operation it works for. */
struct handler {
	bool used;
	struct exec_run run;
	uint8_t op[WIRE_DIGEST_LEN];
};

/* An operation the previous incarnation signalled: its stages (bit 0
 * START, bit 1 COMPLETE). */
struct recent_op {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t stages;
};

struct provider {
	const struct provider_config *cfg;
	/* its name as a frame's provider field holds it, formatted once */
	char wire_name[WIRE_PROVIDER_ID_MAX + 1];
	struct journal journal;
	struct provider_policy policy;
	struct decider decider;
	uint8_t sk[64];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
	uint64_t covered_seq;
	int ep;
	int stop_fd;         /* signalfd: SIGTERM, SIGINT */
	int timer_fd;
	bool timer_armed;
	uint64_t checkpoint_due_ns; /* CLOCK_MONOTONIC when the armed timer fires */
	uint8_t *frames;     /* PEEK_MSGS receive buffers, one message each */
	size_t frame_cap;    /* the largest message (docs/PROTOCOL.md) */
	uint64_t initiated;
	uint8_t random_pool[RANDOM_POOL_VALUES * WIRE_DIGEST_LEN];
	size_t random_used; /* bytes of the pool handed out (zeroed) */
	struct handler *handlers; /* policy.max_concurrent slots when action = exec */
	uint32_t running;
	struct wire_stats wire;
	/* Frames not sent yet: the first n_journaled are in the journal;
	 * sent with one sendmmsg once a checkpoint is among them
	 * (out_checkpoint) or OUT_BATCH are queued (flush_frames). */
	uint8_t out[OUT_BATCH][CHECKPOINT_FRAME_LEN];
	unsigned out_len[OUT_BATCH];
	size_t n_out;
	size_t n_journaled;
	bool out_checkpoint;
	size_t peeked;       /* messages peeked (being handled) but not yet consumed */
	size_t peek_len[PEEK_MSGS]; /* their lengths */
	size_t unconsumed_artifacts; /* the artifacts they hold, handled so far */
	/* Right after a restart (resume_from_journal): what the ring says the
	 * previous incarnation signalled, until the artifacts it may concern
	 * have been read. */
	struct recent_op *recent;
	size_t n_recent;
	size_t recent_budget; /* messages still to check against it */
	uint64_t recognised;  /* artifacts found already signalled after a restart */
	uint64_t resent;      /* frames sent again from the journal */
	/* since this process started, for its live counters */
	uint64_t artifacts, signals, checkpoints;
	struct role_counters_report counters; /* to the supervisor (role_counters.h) */
};

/* provider.c: the loop. */
/* Adds fd to the loop's epoll set, its events tagged `tag`. */
int provider_watch(struct provider *p, int fd, uint64_t tag);

/* artifacts.c: the artifact channel. */
/* Reads every queued artifact: peek a batch, handle it, journal its
 * signals, then consume it; they are sent with their checkpoint
 * (docs/RELIABILITY.md). Returns -1 on a fatal error. */
int drain_artifacts(struct provider *p);
/* Consumes the messages handled so far, whose signals are in the journal. */
int consume_peeked(struct provider *p);
/* The writer shut the channel: it is not watched any more. */
void artifact_channel_shut(struct provider *p);

/* initiate.c: what a decision to initiate does. */
/* `stages`: what the previous incarnation already signalled for op (bit 0
 * START, bit 1 COMPLETE). */
int initiate(struct provider *p, const struct artifact *a, const uint8_t op[WIRE_DIGEST_LEN], uint8_t stages);
/* A handler's pidfd was readable: reaped, its COMPLETE emitted. */
int handler_done(struct provider *p, struct handler *h);

/* emit.c: the chain's frames, journaled, and sent once covered. */
/* Sends frames, blocking, with one sendmmsg. */
int send_frames(struct provider *p, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens,
		size_t count);
/* Every queued frame to the journal; to the channel too once a checkpoint
 * covers them or OUT_BATCH are queued. */
int flush_frames(struct provider *p);
/* Queued frames to the journal only. */
int journal_queued(struct provider *p);
/* Forgets the queued frames, all journaled: the journal's resend sent them. */
void forget_queued(struct provider *p);
int emit_signal(struct provider *p, uint8_t stage, const uint8_t op[WIRE_DIGEST_LEN],
		const uint8_t value[WIRE_DIGEST_LEN]);
int emit_checkpoint(struct provider *p);
/* The checkpoint timer came due (a multiple of checkpoint_ms, emit.c). */
int on_checkpoint_timer(struct provider *p);
/* The same, asked by the clock between batches of the drain loop. */
int checkpoint_if_due(struct provider *p);
/* Whether checkpoint_if_due would emit one now. */
bool checkpoint_is_due(const struct provider *p);
/* A fresh epoch, opened by a checkpoint at seq 0. */
int start_epoch(struct provider *p);

/* resend.c: the journal after a restart. */
/* This provider restarted: its epoch goes on from the journal's last frame. */
int resume_from_journal(struct provider *p);
/* The supervisor restarted the association and asks for the journal again. */
int resend_if_asked(struct provider *p);

#endif
