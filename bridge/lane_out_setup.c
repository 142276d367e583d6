/* SPDX-License-Identifier: Apache-2.0 */
/* An out lane's set-up (before the seal), its resume after a restart, and
 * its counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include <sodium.h>

#include "lane_out_internal.h"
#include "lanes.h"
#include "logline.h"
#include "out_channel.h"
#include "state_map.h"

/* Whether the oldest recorded batch is still at the channel's head: the
 * same count of messages with the same digest. A batch consumed just
 * before the kill is followed by other messages (a signal frame carries
 * its pseq, so two consecutive batches never match; identical artifact
 * batches back to back would, and the second would then be taken for a
 * duplicate of the first). */
static bool matches_record(const struct out_batch *b, const struct bridge_inflight *rec)
{
	uint8_t digest[16];
	batch_digest(b, digest);
	return b->msgs == rec->msgs && b->payload_len == rec->payload_bytes && memcmp(digest, rec->digest, 16) == 0;
}

static void peek_recorded(struct out_lane *l, struct out_batch *b, uint64_t seq, const struct bridge_inflight *rec)
{
	reset_batch(b, seq);
	if (outch_peek_into(l, b, rec->msgs) < 0)
		lane_fatal(&l->c, "peek channel fd %d: %s", l->c.arg->channel_fd, strerror(errno));
}

/* The oldest batch was consumed, its first_seq++ not stored: forget it
 * and peek from the head again. */
static void forget_oldest(struct out_lane *l)
{
	struct bridge_out_state *st = out_state(l);
	bridge_info("%s: batch %llu was consumed before the restart", l->c.name, (unsigned long long)st->first_seq);
	st->first_seq++;
	state_barrier();
	l->peek_off = 0;
	if (outch_rewind(l) < 0)
		lane_fatal(&l->c, "SO_PEEK_OFF on channel fd %d: %s", l->c.arg->channel_fd, strerror(errno));
}

void out_resume(struct out_lane *l)
{
	struct bridge_out_state *st = out_state(l);
	uint64_t seq = st->first_seq;
	while (seq < st->next_seq) {
		const struct bridge_inflight *rec = &st->slot[seq % BRIDGE_WINDOW_MAX];
		struct out_batch *b = batch_of(l, seq);
		peek_recorded(l, b, seq, rec);
		if (!matches_record(b, rec)) {
			if (seq == st->first_seq) {
				forget_oldest(l);
				seq = st->first_seq;
				continue;
			}
			/* only the oldest can have been consumed: the channel was
			 * read by someone else; publishing under the recorded id
			 * may now lose these messages as duplicates, so say so */
			bridge_error("%s: batch %llu is not the one recorded (%u messages, %u bytes now); republishing it",
				     l->c.name, (unsigned long long)seq, b->msgs, b->payload_len);
		}
		publish(l, b);
		seq++;
	}
	if (st->next_seq > st->first_seq)
		bridge_info("%s: republished %llu batch(es) in flight at the restart (ids %016llx-%llu..)", l->c.name,
			    (unsigned long long)(st->next_seq - st->first_seq), (unsigned long long)st->lane_epoch,
			    (unsigned long long)st->first_seq);
}

static int alloc_batches(struct out_lane *l, char *err, size_t errlen)
{
	/* allocated once, before the seal: the loop then allocates no
	 * buffer of its own (libnats still copies each message) */
	for (unsigned i = 0; i < l->window; i++) {
		l->batch[i].payload = malloc(l->batch_bytes);
		if (!l->batch[i].payload) {
			snprintf(err, errlen, "%s: batch buffers: out of memory", l->c.name);
			return -1;
		}
	}
	return 0;
}

static int open_js(struct out_lane *l, natsConnection *nc, char *err, size_t errlen)
{
	jsOptions jo;
	natsStatus s = jsOptions_Init(&jo);
	if (s == NATS_OK) {
		jo.PublishAsync.AckHandler = on_pub_ack;
		jo.PublishAsync.AckHandlerClosure = l;
		/* the window is the bound; the library's own one only above it */
		jo.PublishAsync.MaxPending = 2 * (int64_t)l->window;
		s = natsConnection_JetStream(&l->js, nc, &jo);
	}
	if (s != NATS_OK) {
		snprintf(err, errlen, "%s: JetStream context: %s", l->c.name, natsStatus_GetText(s));
		return -1;
	}
	return 0;
}

int out_lane_prepare(struct out_lane *l, const struct bridge_args *a, const struct lane_arg *arg, int stop_fd,
		     char *err, size_t errlen)
{
	char why[256];
	lane_common_init(&l->c, arg, stop_fd);
	l->c.state = state_map_lane(arg->state_fd, BRIDGE_STATE_OUT, false, why, sizeof(why));
	if (!l->c.state) {
		snprintf(err, errlen, "%s: %s", l->c.name, why);
		return -1;
	}
	const struct bridge_out_state *st = &l->c.state->u.out;
	/* A sig lane publishes one batch at a time: with several in flight a
	 * lost one retried after its successor was stored would reach the
	 * association out of order, which it rejects (docs/PROTOCOL.md). */
	l->window = arg->kind == LANE_SIG ? 1 : a->window;
	if (st->next_seq - st->first_seq > l->window)
		l->window = (unsigned)(st->next_seq - st->first_seq); /* a wider earlier window's batches */
	l->batch_frames = a->batch_frames;
	l->batch_bytes = a->batch_bytes;
	l->backoff_ms = RETRY_FIRST_MS;
	int e = pthread_mutex_init(&l->lock, NULL);
	if (e) {
		snprintf(err, errlen, "%s: mutex: %s", l->c.name, strerror(e));
		return -1;
	}
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", l->c.name, strerror(errno));
		return -1;
	}
	return alloc_batches(l, err, errlen) < 0 || outch_setup(l, err, errlen) < 0 ? -1 : 0;
}

int out_lane_bind(struct out_lane *l, natsConnection *nc, char *err, size_t errlen)
{
	l->nc = nc;
	return open_js(l, nc, err, errlen);
}

int out_lane_start(struct out_lane *l, char *err, size_t errlen)
{
	return lane_start(&l->c, out_lane_main, l, err, errlen);
}

void out_lane_report(const struct out_lane *l)
{
	const struct bridge_out_state *st = &l->c.state->u.out;
	bridge_info("%s: %llu batches, %llu messages, %llu bytes published; %llu retries, %llu duplicates dropped by "
		    "JetStream, %llu empty messages skipped, %llu over batch_bytes dropped; %llu batch(es) left in flight",
		    l->c.name, (unsigned long long)l->n.batches, (unsigned long long)l->n.msgs,
		    (unsigned long long)l->n.bytes, (unsigned long long)l->n.retries,
		    (unsigned long long)l->n.duplicates, (unsigned long long)l->n.skipped,
		    (unsigned long long)l->n.malformed, (unsigned long long)(st->next_seq - st->first_seq));
}
