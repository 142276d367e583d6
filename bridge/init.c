/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "init.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "logline.h"

#define NS_PER_S 1000000000LL
/* The duplicate window the out lanes' retries and restarts rely on. */
#define DUPLICATE_WINDOW_NS (120 * NS_PER_S)
#define ACK_WAIT_NS (30 * NS_PER_S)
#define MAX_ACK_PENDING 1024

struct names {
	char subject[64], stream[64], durable[64];
};

static void fill_stream_config(jsStreamConfig *c, const struct names *n, const char **subjects,
			       const struct bridge_args *a)
{
	jsStreamConfig_Init(c);
	c->Name = n->stream;
	subjects[0] = n->subject;
	c->Subjects = subjects;
	c->SubjectsLen = 1;
	c->Storage = js_FileStorage;
	c->Replicas = a->replicas;
	/* never workqueue: Debian's 2.9.10 has defects with it at R3 */
	c->Retention = js_LimitsPolicy;
	c->Discard = js_DiscardNew;
	c->MaxBytes = a->max_bytes;
	c->MaxAge = 0;
	c->Duplicates = DUPLICATE_WINDOW_NS;
}

/* The first field that differs, or NULL. */
static const char *stream_differs(const jsStreamConfig *have, const jsStreamConfig *want)
{
	if (have->SubjectsLen != 1 || !have->Subjects || strcmp(have->Subjects[0], want->Subjects[0]) != 0)
		return "subjects";
	return have->Storage != want->Storage ? "storage"
	       : have->Replicas != want->Replicas ? "replicas"
	       : have->Retention != want->Retention ? "retention"
	       : have->Discard != want->Discard ? "discard"
	       : have->MaxBytes != want->MaxBytes ? "max_bytes"
	       : have->MaxAge != want->MaxAge ? "max_age"
	       : have->Duplicates != want->Duplicates ? "duplicate window"
	       : NULL;
}

static void fill_consumer_config(jsConsumerConfig *c, const struct names *n)
{
	jsConsumerConfig_Init(c);
	c->Durable = n->durable;
	c->DeliverPolicy = js_DeliverAll;
	c->AckPolicy = js_AckExplicit;
	c->AckWait = ACK_WAIT_NS;
	c->MaxAckPending = MAX_ACK_PENDING;
	c->FilterSubject = n->subject;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *consumer_differs(const jsConsumerConfig *have, const jsConsumerConfig *want)
{
	return !str_eq(have->Durable, want->Durable) ? "durable"
	       : have->DeliverSubject && *have->DeliverSubject ? "deliver subject (a push consumer)"
	       : have->DeliverPolicy != want->DeliverPolicy ? "deliver policy"
	       : have->AckPolicy != want->AckPolicy ? "ack policy"
	       : have->AckWait != want->AckWait ? "ack wait"
	       : have->MaxAckPending != want->MaxAckPending ? "max ack pending"
	       : !str_eq(have->FilterSubject, want->FilterSubject) ? "filter subject"
	       : NULL;
}

static int fail(natsConnection *nc, const char *what, natsStatus s, jsErrCode code)
{
	char text[256];
	conn_describe(nc, s, text, sizeof(text));
	bridge_error("%s: %s (JetStream code %d)", what, text, (int)code);
	return -1;
}

static bool not_found(natsStatus s, jsErrCode code, jsErrCode which)
{
	return s == NATS_NOT_FOUND || code == which;
}

/* A stream or consumer that was there: the same configuration, or the
 * first field that differs (never changed: the operator decides). */
static int found(const char *what, const char *differing_field)
{
	if (differing_field) {
		bridge_error("%s exists with a different %s", what, differing_field);
		return -1;
	}
	printf("%s exists\n", what);
	return 0;
}

static int created(natsConnection *nc, const char *what, natsStatus s, jsErrCode code)
{
	if (s != NATS_OK)
		return fail(nc, what, s, code);
	printf("%s created\n", what);
	return 0;
}

static int ensure_stream(natsConnection *nc, jsCtx *js, const struct names *n, const struct bridge_args *a)
{
	jsStreamConfig want;
	const char *subjects[1];
	fill_stream_config(&want, n, subjects, a);
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	char what[128];
	snprintf(what, sizeof(what), "stream %s", n->stream);
	natsStatus s = js_GetStreamInfo(&si, js, n->stream, NULL, &code);
	if (s == NATS_OK) {
		const char *field = stream_differs(si->Config, &want);
		jsStreamInfo_Destroy(si);
		return found(what, field);
	}
	if (!not_found(s, code, JSStreamNotFoundErr))
		return fail(nc, what, s, code);
	code = 0;
	s = js_AddStream(&si, js, &want, NULL, &code);
	if (s == NATS_OK)
		jsStreamInfo_Destroy(si);
	return created(nc, what, s, code);
}

static int ensure_consumer(natsConnection *nc, jsCtx *js, const struct names *n)
{
	jsConsumerConfig want;
	fill_consumer_config(&want, n);
	jsConsumerInfo *ci = NULL;
	jsErrCode code = 0;
	char what[160];
	snprintf(what, sizeof(what), "consumer %s of stream %s", n->durable, n->stream);
	natsStatus s = js_GetConsumerInfo(&ci, js, n->stream, n->durable, NULL, &code);
	if (s == NATS_OK) {
		const char *field = consumer_differs(ci->Config, &want);
		jsConsumerInfo_Destroy(ci);
		return found(what, field);
	}
	if (!not_found(s, code, JSConsumerNotFoundErr))
		return fail(nc, what, s, code);
	code = 0;
	s = js_AddConsumer(&ci, js, n->stream, &want, NULL, &code);
	if (s == NATS_OK)
		jsConsumerInfo_Destroy(ci);
	return created(nc, what, s, code);
}

int init_run(const struct bridge_args *a)
{
	char err[512];
	natsStatus s = nats_Open(-1);
	if (s != NATS_OK) {
		bridge_error("libnats: %s", natsStatus_GetText(s));
		return 1;
	}
	natsConnection *nc = conn_open(a, err, sizeof(err));
	if (!nc) {
		bridge_error("%s", err);
		return 1;
	}
	jsCtx *js = NULL;
	s = natsConnection_JetStream(&js, nc, NULL);
	int rc = s == NATS_OK ? 0 : fail(nc, "JetStream context", s, 0);
	for (size_t i = 0; rc == 0 && i < a->stream_count; i++) {
		struct names n;
		lane_subject(a->streams[i].kind, a->streams[i].provider, n.subject, sizeof(n.subject));
		lane_stream(a->streams[i].kind, a->streams[i].provider, n.stream, sizeof(n.stream));
		lane_durable(a->streams[i].kind, a->streams[i].provider, n.durable, sizeof(n.durable));
		rc = ensure_stream(nc, js, &n, a);
		if (rc == 0)
			rc = ensure_consumer(nc, js, &n);
	}
	fflush(stdout);
	jsCtx_Destroy(js);
	conn_close(nc, 1000);
	nats_Close();
	return rc == 0 ? 0 : 1;
}
