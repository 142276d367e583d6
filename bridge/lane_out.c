/* SPDX-License-Identifier: Apache-2.0 */
/* An out lane: channel -> NATS, exactly once as far as JetStream sees.
 *
 * A batch's channel messages are peeked, never consumed, until JetStream
 * acknowledged the batch; only the oldest acknowledged batches are
 * consumed, in order. Before a batch is published its (seq, count, digest)
 * goes into the state memfd, so a restarted bridge peeks the same messages
 * again and republishes them under the same Nats-Msg-Id, which the
 * stream's duplicate window drops if it stored them already. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "lanes.h"
#include "logline.h"
#include "conn.h"
#include "lane_out_internal.h"
#include "out_channel.h"
#include "state_map.h"

/* How long a publish waits for its ack before it counts as failed and is
 * retried (same id; a retry that races a late ack is a duplicate the
 * stream drops). */
#define PUBLISH_MAX_WAIT_MS 3000
#define RETRY_MAX_MS 2000
#define MSG_ID_MAX 48

struct bridge_out_state *out_state(struct out_lane *l)
{
	return &l->c.state->u.out;
}

struct out_batch *batch_of(struct out_lane *l, uint64_t seq)
{
	return &l->batch[seq % l->window];
}

static void format_msg_id(struct out_lane *l, uint64_t seq, char out[MSG_ID_MAX])
{
	snprintf(out, MSG_ID_MAX, "%016llx-%llu", (unsigned long long)out_state(l)->lane_epoch,
		 (unsigned long long)seq);
}

/* The id comes back on our own message, but it is parsed strictly all
 * the same: a wrong one must not mark another batch acknowledged. */
static bool parse_msg_id(struct out_lane *l, const char *id, uint64_t *seq)
{
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%016llx-", (unsigned long long)out_state(l)->lane_epoch);
	if (strncmp(id, prefix, 17) != 0 || id[17] < '0' || id[17] > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(id + 17, &end, 10);
	if (errno || *end)
		return false;
	*seq = v;
	return true;
}

static void wake(struct out_lane *l)
{
	uint64_t one = 1;
	if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		bridge_error("%s: wake eventfd: %s", l->c.name, strerror(errno));
}

/* libnats's thread: every async publish ends here, acked or failed. */
void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct out_lane *l = closure;
	const char *id = NULL;
	uint64_t seq;
	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id && parse_msg_id(l, id, &seq)) {
		pthread_mutex_lock(&l->lock);
		struct out_batch *b = batch_of(l, seq);
		if (b->seq == seq && b->status == BATCH_SENT) {
			if (pa) {
				b->status = BATCH_ACKED;
				l->n.duplicates += pa->Duplicate;
			} else {
				b->status = BATCH_FAILED;
				b->fail_status = pae ? pae->Err : NATS_ERR;
				b->fail_code = pae ? (int)pae->ErrCode : 0;
				snprintf(b->fail_text, sizeof(b->fail_text), "%s",
					 pae && pae->ErrText ? pae->ErrText : "");
			}
		}
		pthread_mutex_unlock(&l->lock);
		wake(l);
	}
	natsMsg_Destroy(msg);
}

void publish(struct out_lane *l, struct out_batch *b)
{
	char id[MSG_ID_MAX];
	format_msg_id(l, b->seq, id);
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.MaxWait = PUBLISH_MAX_WAIT_MS;
	/* SENT before the call: the ack can arrive before it returns */
	pthread_mutex_lock(&l->lock);
	b->status = BATCH_SENT;
	pthread_mutex_unlock(&l->lock);
	b->generation = conn_generation();
	natsMsg *m = NULL;
	natsStatus s = natsMsg_Create(&m, l->c.subject, NULL, (const char *)b->payload, (int)b->payload_len);
	if (s == NATS_OK)
		s = js_PublishMsgAsync(l->js, &m, &po);
	natsMsg_Destroy(m); /* NULL when the library took it */
	if (s == NATS_OK)
		return;
	const char *last = nats_GetLastError(NULL);
	pthread_mutex_lock(&l->lock);
	b->status = BATCH_FAILED;
	b->fail_status = s;
	b->fail_code = 0;
	snprintf(b->fail_text, sizeof(b->fail_text), "%s", last ? last : "");
	pthread_mutex_unlock(&l->lock);
}

/* Logs a cause of failure once per change, and schedules the retry. */
static void schedule_retry(struct out_lane *l, struct out_batch *b, int64_t now)
{
	char cause[sizeof(l->last_cause)];
	snprintf(cause, sizeof(cause), "%s%s%.96s", natsStatus_GetText(b->fail_status), b->fail_text[0] ? ": " : "",
		 b->fail_text);
	if (b->fail_code)
		snprintf(cause + strlen(cause), sizeof(cause) - strlen(cause), " (%d)", b->fail_code);
	if (strcmp(cause, l->last_cause) != 0) {
		bridge_warning("%s: publish of batch %llu failed: %s; retrying with the same id", l->c.name,
			       (unsigned long long)b->seq, cause);
		snprintf(l->last_cause, sizeof(l->last_cause), "%s", cause);
	}
	b->retry_at_ms = now + l->backoff_ms;
	l->backoff_ms = l->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : l->backoff_ms * 2;
}

/* Order in the stream is the order of the channel: batch k+1 must never
 * be stored before batch k (the association rejects a signal out of
 * order). A failed batch is therefore retried only once every batch
 * before it is acked, and no new batch is published while any is failed
 * or was sent on an earlier connection: after a reconnect, whatever the
 * dead connection carried may be lost while later publishes (buffered by
 * libnats meanwhile) land. A batch sent on an earlier connection with no
 * ack yet counts as failed: its ack can no longer come. */
static bool needs_retry(struct out_lane *l, struct out_batch *b, unsigned generation)
{
	pthread_mutex_lock(&l->lock);
	if (b->status == BATCH_SENT && b->generation != generation) {
		b->status = BATCH_FAILED;
		b->fail_status = NATS_CONNECTION_DISCONNECTED;
		b->fail_code = 0;
		snprintf(b->fail_text, sizeof(b->fail_text), "sent before a reconnect");
	}
	bool failed = b->status == BATCH_FAILED;
	pthread_mutex_unlock(&l->lock);
	return failed;
}

static bool connected(struct out_lane *l)
{
	return natsConnection_Status(l->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Retries the first batch not acked if it failed and its time came.
 * Returns true when the window is clean: nothing failed, nothing from an
 * earlier connection, connected (new batches may go). */
static bool retry_in_order(struct out_lane *l, int64_t now)
{
	struct bridge_out_state *st = out_state(l);
	unsigned generation = conn_generation();
	bool clean = connected(l), first_unacked = true;
	for (uint64_t seq = st->first_seq; seq < st->next_seq; seq++) {
		struct out_batch *b = batch_of(l, seq);
		bool failed = needs_retry(l, b, generation);
		pthread_mutex_lock(&l->lock);
		bool acked = b->status == BATCH_ACKED;
		pthread_mutex_unlock(&l->lock);
		if (!failed) {
			first_unacked = first_unacked && acked;
			continue;
		}
		clean = false;
		if (b->retry_at_ms == 0)
			schedule_retry(l, b, now);
		if (first_unacked && b->retry_at_ms <= now && connected(l)) {
			b->retry_at_ms = 0;
			l->n.retries++;
			publish(l, b);
		}
		first_unacked = false;
	}
	return clean;
}

/* Consumes the oldest acknowledged batches, in order, and forgets them in
 * the state: consume first, then first_seq (a kill between the two leaves
 * a recorded batch already consumed, which out_resume recognises by its
 * digest). */
static void consume_acked(struct out_lane *l)
{
	struct bridge_out_state *st = out_state(l);
	while (st->first_seq < st->next_seq) {
		struct out_batch *b = batch_of(l, st->first_seq);
		pthread_mutex_lock(&l->lock);
		bool acked = b->status == BATCH_ACKED;
		pthread_mutex_unlock(&l->lock);
		if (!acked)
			return;
		if (outch_consume(l, b) < 0)
			lane_fatal(&l->c, "consume batch %llu from channel fd %d: %s", (unsigned long long)b->seq,
				   l->c.arg->channel_fd, strerror(errno));
		state_barrier();
		st->first_seq++;
		state_barrier();
		l->n.batches++;
		l->n.msgs += b->msgs;
		l->n.bytes += b->channel_bytes;
		b->status = BATCH_FREE;
		if (l->last_cause[0]) {
			bridge_info("%s: publishing again", l->c.name);
			l->last_cause[0] = '\0';
		}
		l->backoff_ms = RETRY_FIRST_MS;
	}
}

void reset_batch(struct out_batch *b, uint64_t seq)
{
	b->seq = seq;
	b->msgs = b->channel_bytes = b->payload_len = 0;
	b->retry_at_ms = 0;
}

void batch_digest(const struct out_batch *b, uint8_t out[16])
{
	crypto_generichash(out, 16, b->payload, b->payload_len, NULL, 0);
}

/* Peeks new batches while the window has room; records each in the state
 * before it is published. Returns true if the channel had nothing more. */
static bool fill_window(struct out_lane *l)
{
	struct bridge_out_state *st = out_state(l);
	while (st->next_seq - st->first_seq < l->window) {
		uint64_t seq = st->next_seq;
		struct out_batch *b = batch_of(l, seq);
		reset_batch(b, seq);
		int n = outch_peek_into(l, b, l->batch_frames);
		if (n < 0)
			lane_fatal(&l->c, "peek channel fd %d: %s", l->c.arg->channel_fd, strerror(errno));
		if (n == 0)
			return true;
		struct bridge_inflight *slot = &st->slot[seq % BRIDGE_WINDOW_MAX];
		slot->msgs = b->msgs;
		slot->payload_bytes = b->payload_len;
		batch_digest(b, slot->digest);
		state_barrier();
		st->next_seq = seq + 1;
		state_barrier();
		publish(l, b);
	}
	return false;
}

/* Nothing in flight, poll said readable, yet no peek found a message:
 * the head is an empty message that an earlier peek stepped over (the
 * kernel skips a peeked empty one), or the writer is gone. FIONREAD
 * gives the head's length; only this thread reads, so a 0 there is that
 * empty message and consuming one takes exactly it. Returns false when
 * it is the channel's end. */
static bool drop_empty_head(struct out_lane *l)
{
	int head = -1;
	if (ioctl(l->c.arg->channel_fd, FIONREAD, &head) < 0 || head != 0)
		return true;
	struct mmsghdr mm = { 0 };
	int got = recvmmsg(l->c.arg->channel_fd, &mm, 1, OUTCH_CONSUME_FLAGS, NULL);
	if (got == 1 && mm.msg_len == 0) {
		l->n.skipped++;
		return true;
	}
	return got != 0;
}

static int poll_timeout(struct out_lane *l, int64_t now, bool stopping)
{
	struct bridge_out_state *st = out_state(l);
	int64_t timeout = stopping ? 50 : 1000;
	for (uint64_t seq = st->first_seq; seq < st->next_seq; seq++) {
		struct out_batch *b = batch_of(l, seq);
		if (b->retry_at_ms && b->retry_at_ms - now < timeout)
			timeout = b->retry_at_ms - now;
	}
	return timeout < 0 ? 0 : (int)timeout;
}

/* Waits for an ack, the stop request, a retry time, or (nothing in
 * flight) the channel. With batches in flight the channel is not polled:
 * it stays readable while they are queued; the next ack wakes the lane
 * to peek what came meanwhile. Returns the channel's poll events. */
static short wait_event(struct out_lane *l, bool stopping, bool channel_open)
{
	struct bridge_out_state *st = out_state(l);
	struct pollfd p[3] = { { .fd = l->wake_fd, .events = POLLIN } };
	nfds_t n = 1;
	if (!stopping)
		p[n++] = (struct pollfd){ .fd = l->c.stop_fd, .events = POLLIN };
	nfds_t channel = n;
	if (st->first_seq == st->next_seq && channel_open)
		p[n++] = (struct pollfd){ .fd = l->c.arg->channel_fd, .events = POLLIN };
	int r = poll(p, n, poll_timeout(l, lane_now_ms(), stopping));
	if (r < 0 && errno != EINTR)
		lane_fatal(&l->c, "poll: %s", strerror(errno));
	uint64_t count;
	if (r > 0 && (p[0].revents & POLLIN) && read(l->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		lane_fatal(&l->c, "read wake eventfd: %s", strerror(errno));
	return r > 0 && channel < n ? p[channel].revents : 0;
}

void *out_lane_main(void *arg)
{
	struct out_lane *l = arg;
	struct bridge_out_state *st = out_state(l);
	bool channel_open = true;
	short channel_events = 0;
	out_resume(l);
	for (;;) {
		bool stopping = atomic_load(&l->c.stopping);
		consume_acked(l);
		bool clean = retry_in_order(l, lane_now_ms());
		uint64_t next_before = st->next_seq;
		bool dry = clean ? fill_window(l) : false;
		if (channel_events & POLLHUP) {
			bridge_warning("%s: channel fd %d: the writer is gone", l->c.name, l->c.arg->channel_fd);
			channel_open = false;
		} else if ((channel_events & POLLIN) && dry && next_before == st->next_seq &&
			   st->first_seq == st->next_seq) {
			channel_open = drop_empty_head(l);
		}
		/* stop: what was peeked is published, the channel read empty,
		 * every batch acked and consumed */
		if (stopping && clean && dry && st->first_seq == st->next_seq)
			break;
		channel_events = wait_event(l, stopping, channel_open);
	}
	atomic_store(&l->c.finished, true);
	return NULL;
}
