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
 * would hand them out again only after its ack wait; they are read from
 * the stream itself by sequence instead (the lane's user may get its own
 * stream's messages), and their redeliveries are then at or below
 * delivered_seq, acked and skipped. */

enum gap_read { GAP_READ_OK, GAP_READ_MISSING, GAP_READ_FAILED };

/* Stream message seq, checked to be what was asked: the server's answer
 * is not trusted to be the lane's subject or the sequence. */
static enum gap_read read_gap_msg(struct in_lane *l, uint64_t seq, natsMsg **out)
{
	natsMsg *m = NULL;
	jsErrCode code = 0;
	natsStatus s = js_GetMsg(&m, l->js, l->c.stream, seq, NULL, &code);
	if (s != NATS_OK && code == JSNoMessageFoundErr)
		return GAP_READ_MISSING;
	if (s != NATS_OK) {
		bridge_warning("%s: reading stream message %llu of %s: %s (code %d)", l->c.name,
			       (unsigned long long)seq, l->c.stream, natsStatus_GetText(s), (int)code);
		natsMsg_Destroy(m);
		return GAP_READ_FAILED;
	}
	const char *subject = m ? natsMsg_GetSubject(m) : NULL;
	uint64_t got = m ? natsMsg_GetSequence(m) : 0;
	if (!subject || strcmp(subject, l->c.subject) != 0 || got != seq) {
		bridge_warning("%s: asked %s for message %llu of %s, got %llu of %s; not written", l->c.name,
			       l->c.stream, (unsigned long long)seq, l->c.subject, (unsigned long long)got,
			       subject ? subject : "(no subject)");
		natsMsg_Destroy(m);
		return GAP_READ_FAILED;
	}
	*out = m;
	return GAP_READ_OK;
}

/* Messages first..last the stream no longer has: someone deleted them
 * (outside the model; nothing the bridge does removes them). Waiting
 * would wait for ever, the consumer never hands a deleted message out:
 * they are recorded delivered (inw_skip) and counted, and the lane goes
 * on. One line per run of them. */
static void log_missing(struct in_lane *l, uint64_t first, uint64_t last)
{
	bridge_error("%s: stream messages %llu..%llu of %s are missing (deleted from the middle of the stream); "
		     "skipped, their frames are lost",
		     l->c.name, (unsigned long long)first, (unsigned long long)last, l->c.stream);
}

/* Reads and writes delivered_seq + 1 .. upto - 1. Returns 0 when the gap
 * is filled, 1 when a stop cut it short, -1 when a message could not be
 * read (then the lane waits for the redelivery).
 *
 * Not bounded by the consumer's max ack pending: on a lane's first start
 * in a run it begins at the ack floor, and what a previous run acked out
 * of order above the floor is a gap of any length, which the consumer will
 * never hand out again (a bound made the lane wait for ever). Each step is
 * one stored message of this stream, checked, written and recorded: a
 * server that claims a far sequence only feeds the lane its own stream. */
static int fill_gap(struct in_lane *l, uint64_t upto)
{
	uint64_t missing_from = 0;
	int rc = 0;
	/* seq < upto: seq + 1 cannot wrap */
	for (uint64_t seq = l->c.state->u.in.delivered_seq + 1; rc == 0 && seq < upto; seq++) {
		if (atomic_load(&l->c.stopping)) {
			rc = 1;
			break;
		}
		natsMsg *m = NULL;
		enum gap_read r = read_gap_msg(l, seq, &m);
		if (r == GAP_READ_MISSING) {
			missing_from = missing_from ? missing_from : seq;
			inw_skip(l, seq);
			l->n.missing++;
			continue;
		}
		if (missing_from)
			log_missing(l, missing_from, seq - 1);
		missing_from = 0;
		if (r == GAP_READ_FAILED) {
			rc = -1;
			break;
		}
		int len = natsMsg_GetDataLength(m);
		const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
		rc = inw_deliver(l, seq, data, data && len > 0 ? (size_t)len : 0);
		natsMsg_Destroy(m);
		if (rc == 0)
			l->n.gap_filled++;
	}
	if (missing_from)
		log_missing(l, missing_from, l->c.state->u.in.delivered_seq);
	return rc;
}

static bool past_gap(struct in_lane *l, natsMsg *msg, uint64_t seq)
{
	uint64_t delivered = l->c.state->u.in.delivered_seq;
	/* seq - delivered, not delivered + 1: that wraps at UINT64_MAX */
	if (seq <= delivered || seq - delivered == 1)
		return false;
	int filled = fill_gap(l, seq);
	if (filled == 0)
		return false;
	if (filled == 1) { /* stopping: the message comes again */
		natsMsg_Nak(msg, NULL);
		return true;
	}
	/* delivered_seq may have moved past missing messages */
	delivered = l->c.state->u.in.delivered_seq;
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
	l->c.state = state_map_lane(arg->state_fd, BRIDGE_STATE_IN, arg->kind == LANE_SIG, why, sizeof(why));
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
		    "%llu malformed, %llu missing from the stream, %llu filled from the stream, %llu handed back past a "
		    "gap; delivered up to stream sequence %llu",
		    l->c.name, (unsigned long long)l->n.batches, (unsigned long long)l->n.msgs,
		    (unsigned long long)l->n.bytes, (unsigned long long)l->n.skipped,
		    (unsigned long long)l->n.malformed, (unsigned long long)l->n.missing,
		    (unsigned long long)l->n.gap_filled, (unsigned long long)l->n.held,
		    (unsigned long long)st->delivered_seq);
}
