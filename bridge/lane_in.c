/* SPDX-License-Identifier: Apache-2.0 */
/* An in lane: NATS -> channel. A pull subscription bound to the durable
 * the operator created (mpbs-run nats-init), fetched in batches; each
 * stream message is written to the channel (in_write.c), recorded
 * delivered in the state memfd, then acked. A redelivery (at or below
 * delivered_seq) is acked and skipped. Every second the stream is purged
 * below what was delivered, so a limits-retention stream does not fill. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "in_write.h"
#include "lanes.h"
#include "logline.h"
#include "state_map.h"

#define FETCH_BATCH 64
#define FETCH_TIMEOUT_MS 1000
#define PURGE_EVERY_MS 1000
/* A refused purge (no permission: it times out) is tried again this
 * rarely, not to stall the lane every second. */
#define PURGE_REFUSED_RETRY_MS 60000
#define PURGE_WAIT_MS 2000
/* A message past a gap comes back after this long (nak delay). */
#define GAP_NAK_DELAY_MS 1000

static void purge_if_due(struct in_lane *l)
{
	uint64_t delivered = l->c.state->u.in.delivered_seq;
	int64_t now = lane_now_ms();
	if (delivered <= l->purged_to || now < l->purge_due_ms)
		return;
	jsOptions jo;
	jsErrCode code = 0;
	natsStatus s = jsOptions_Init(&jo);
	if (s == NATS_OK) {
		jo.Wait = PURGE_WAIT_MS;
		jo.Stream.Purge.Subject = l->c.subject;
		jo.Stream.Purge.Sequence = delivered + 1; /* purges below it */
		s = js_PurgeStream(l->js, l->c.stream, &jo, &code);
	}
	if (s == NATS_OK) {
		l->purged_to = delivered;
		l->purge_refused_logged = false;
		l->purge_due_ms = now + PURGE_EVERY_MS;
		return;
	}
	if (!l->purge_refused_logged) {
		char text[256];
		conn_describe(l->nc, s, text, sizeof(text));
		bridge_warning("%s: purge of %s below %llu refused: %s (code %d); the stream keeps delivered messages",
			       l->c.name, l->c.stream, (unsigned long long)(delivered + 1), text, (int)code);
		l->purge_refused_logged = true;
	}
	l->purge_due_ms = now + PURGE_REFUSED_RETRY_MS;
}

/* The stream sequence of a fetched message, from its reply subject
 * (the server's, not the publisher's). Returns false if it has none or
 * names another stream. */
static bool stream_seq(struct in_lane *l, natsMsg *msg, uint64_t *seq)
{
	jsMsgMetaData *meta = NULL;
	natsStatus s = natsMsg_GetMetaData(&meta, msg);
	if (s != NATS_OK) {
		bridge_warning("%s: a fetched message without JetStream metadata: %s; skipped", l->c.name,
			       natsStatus_GetText(s));
		return false;
	}
	bool ours = meta->Stream && strcmp(meta->Stream, l->c.stream) == 0;
	*seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	if (!ours)
		bridge_warning("%s: a fetched message of another stream; skipped", l->c.name);
	return ours;
}

static void ack(struct in_lane *l, natsMsg *msg, uint64_t seq)
{
	/* fire and forget: a lost ack is a redelivery, skipped by seq */
	natsStatus s = natsMsg_Ack(msg, NULL);
	if (s != NATS_OK)
		bridge_warning("%s: ack of stream message %llu: %s (it will come again and be skipped)", l->c.name,
			       (unsigned long long)seq, natsStatus_GetText(s));
}

/* A message past a gap: the stream's one subject has consecutive
 * sequences (nothing is deleted from its middle: limits retention,
 * discard new, no age, purges only below what was delivered), so a gap is
 * messages a killed incarnation fetched and never acked. The consumer
 * hands them out again only after the ack wait; until then what follows
 * is handed back (nak with a delay), not written ahead of them. */
/* The messages of a gap, read from the stream itself by sequence (the
 * lane's user may get its own stream's messages): the consumer would
 * hand them out again only after its ack wait. Their redeliveries are
 * then at or below delivered_seq, acked and skipped. Returns 0 when the
 * gap is filled, 1 when a stop cut it short, -1 when a message could not
 * be read (then the lane waits for the redelivery, as before). */
static int fill_gap(struct in_lane *l, uint64_t upto)
{
	for (uint64_t seq = l->c.state->u.in.delivered_seq + 1; seq < upto; seq++) {
		natsMsg *m = NULL;
		jsErrCode code = 0;
		natsStatus s = js_GetMsg(&m, l->js, l->c.stream, seq, NULL, &code);
		if (s != NATS_OK) {
			bridge_warning("%s: reading stream message %llu of %s: %s (code %d)", l->c.name,
				       (unsigned long long)seq, l->c.stream, natsStatus_GetText(s), (int)code);
			return -1;
		}
		int len = natsMsg_GetDataLength(m);
		const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
		int stopped = inw_deliver(l, seq, data, data && len > 0 ? (size_t)len : 0);
		natsMsg_Destroy(m);
		if (stopped)
			return 1;
		l->n.gap_filled++;
	}
	return 0;
}

static bool past_gap(struct in_lane *l, natsMsg *msg, uint64_t seq)
{
	uint64_t delivered = l->c.state->u.in.delivered_seq;
	if (seq <= delivered + 1)
		return false;
	int filled = fill_gap(l, seq);
	if (filled == 0)
		return false;
	if (filled == 1) { /* stopping: the message comes again */
		natsMsg_Nak(msg, NULL);
		return true;
	}
	if (l->waiting_for != delivered + 1) {
		bridge_info("%s: waiting for stream message %llu (fetched before a restart, due again after the "
			    "consumer's ack wait); %llu and later handed back meanwhile",
			    l->c.name, (unsigned long long)(delivered + 1), (unsigned long long)seq);
		l->waiting_for = delivered + 1;
	}
	if (natsMsg_NakWithDelay(msg, GAP_NAK_DELAY_MS * 1000000LL, NULL) != NATS_OK)
		bridge_warning("%s: nak of stream message %llu failed (it comes again after the ack wait)", l->c.name,
			       (unsigned long long)seq);
	l->n.held++;
	return true;
}

/* Returns 1 when a stop cut the message short (not acked). */
static int handle_message(struct in_lane *l, natsMsg *msg)
{
	uint64_t seq;
	if (!stream_seq(l, msg, &seq) || past_gap(l, msg, seq))
		return 0;
	if (seq <= l->c.state->u.in.delivered_seq) {
		l->n.skipped++;
		ack(l, msg, seq);
		return 0;
	}
	int len = natsMsg_GetDataLength(msg);
	const uint8_t *data = (const uint8_t *)natsMsg_GetData(msg);
	if (inw_deliver(l, seq, data, data && len > 0 ? (size_t)len : 0))
		return 1;
	ack(l, msg, seq);
	return 0;
}

/* Handles a fetched batch; once stopping, the messages not begun are
 * handed back at once (nak) rather than after the ack wait. */
static void handle_list(struct in_lane *l, natsMsgList *list)
{
	bool stop = false;
	for (int i = 0; i < list->Count; i++) {
		stop = stop || atomic_load(&l->c.stopping);
		if (!stop && handle_message(l, list->Msgs[i]) == 1)
			stop = true;
		else if (stop && natsMsg_Nak(list->Msgs[i], NULL) != NATS_OK)
			bridge_warning("%s: nak at stop failed (the message comes again after the ack wait)", l->c.name);
	}
}

static void log_fetch_error(struct in_lane *l, natsStatus s, jsErrCode code)
{
	char text[sizeof(l->last_fetch_error)];
	snprintf(text, sizeof(text), "%s (code %d)", natsStatus_GetText(s), (int)code);
	if (strcmp(text, l->last_fetch_error) != 0) {
		bridge_warning("%s: fetch from %s/%s: %s", l->c.name, l->c.stream, l->c.durable, text);
		snprintf(l->last_fetch_error, sizeof(l->last_fetch_error), "%s", text);
	}
	/* not a busy loop while the connection is down */
	struct pollfd p = { .fd = l->c.stop_fd, .events = POLLIN };
	if (poll(&p, 1, 200) < 0 && errno != EINTR)
		lane_fatal(&l->c, "poll: %s", strerror(errno));
}

static void *in_lane_main(void *arg)
{
	struct in_lane *l = arg;
	while (!atomic_load(&l->c.stopping)) {
		if (inw_replay_if_asked(l))
			break;
		purge_if_due(l);
		natsMsgList list = { 0 };
		jsErrCode code = 0;
		natsStatus s = natsSubscription_Fetch(&list, l->sub, FETCH_BATCH, FETCH_TIMEOUT_MS, &code);
		if (list.Count > 0) {
			l->last_fetch_error[0] = '\0';
			handle_list(l, &list);
		} else if (s != NATS_OK && s != NATS_TIMEOUT) {
			log_fetch_error(l, s, code);
		}
		natsMsgList_Destroy(&list);
	}
	atomic_store(&l->c.finished, true);
	return NULL;
}

/* A fresh state (this run's first start) takes up where the consumer's
 * acknowledgements end: what a previous run acked was delivered then, and
 * a gap after it (fetched by an incarnation that died unacked) is filled
 * from the stream like any other. */
static int start_from_ack_floor(struct in_lane *l, char *err, size_t errlen)
{
	if (l->c.state->u.in.delivered_seq != 0)
		return 0;
	jsConsumerInfo *ci = NULL;
	jsErrCode code = 0;
	natsStatus s = js_GetConsumerInfo(&ci, l->js, l->c.stream, l->c.durable, NULL, &code);
	if (s != NATS_OK) {
		snprintf(err, errlen, "%s: consumer %s info: %s (code %d)", l->c.name, l->c.durable, natsStatus_GetText(s),
			 (int)code);
		return -1;
	}
	l->c.state->u.in.delivered_seq = ci->AckFloor.Stream;
	jsConsumerInfo_Destroy(ci);
	return 0;
}

int in_lane_prepare(struct in_lane *l, const struct lane_arg *arg, int stop_fd, char *err, size_t errlen)
{
	char why[256];
	lane_common_init(&l->c, arg, stop_fd);
	atomic_init(&l->replay_requests, 0);
	l->c.state = state_map(arg->state_fd, BRIDGE_STATE_IN, why, sizeof(why));
	if (!l->c.state) {
		snprintf(err, errlen, "%s: %s", l->c.name, why);
		return -1;
	}
	return 0;
}

int in_lane_bind(struct in_lane *l, natsConnection *nc, char *err, size_t errlen)
{
	char why[256];
	l->nc = nc;
	natsStatus s = natsConnection_JetStream(&l->js, nc, NULL);
	if (s != NATS_OK) {
		snprintf(err, errlen, "%s: JetStream context: %s", l->c.name, natsStatus_GetText(s));
		return -1;
	}
	/* bound by name to the operator's durable: no stream lookup, and no
	 * consumer is ever created by the bridge */
	jsSubOptions so;
	jsErrCode code = 0;
	s = jsSubOptions_Init(&so);
	so.Stream = l->c.stream;
	so.Consumer = l->c.durable;
	if (s == NATS_OK)
		s = js_PullSubscribe(&l->sub, l->js, l->c.subject, l->c.durable, NULL, &so, &code);
	if (s != NATS_OK) {
		conn_describe(nc, s, why, sizeof(why));
		snprintf(err, errlen, "%s: bind to consumer %s of stream %s refused: %s (code %d)", l->c.name,
			 l->c.durable, l->c.stream, why, (int)code);
		return -1;
	}
	return start_from_ack_floor(l, err, errlen);
}

int in_lane_start(struct in_lane *l, char *err, size_t errlen)
{
	return lane_start(&l->c, in_lane_main, l, err, errlen);
}

void in_lane_report(const struct in_lane *l)
{
	const struct bridge_in_state *st = &l->c.state->u.in;
	bridge_info("%s: %llu stream messages, %llu channel messages, %llu bytes written; %llu redeliveries skipped, "
		    "%llu malformed, %llu handed back past a gap; delivered up to stream sequence %llu",
		    l->c.name, (unsigned long long)l->n.batches, (unsigned long long)l->n.msgs,
		    (unsigned long long)l->n.bytes, (unsigned long long)l->n.skipped,
		    (unsigned long long)l->n.malformed, (unsigned long long)l->n.held,
		    (unsigned long long)st->delivered_seq);
}
