#define _GNU_SOURCE
/* The association's loop. Per provider it keeps the chain (chain.h) and the
 * signals not yet covered by a checkpoint; covered signals feed the pending
 * table; a rule that holds writes `confirmed`. Each loop iteration ends with
 * one group commit, and confirmations are reported only after it. */
#include "association.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../provider/journal.h"
#include "../../lib/keys.h"
#include "../../lib/ledger.h"
#include "ledger_replay.h"
#include "ledger_write.h"
#include "../../lib/log.h"
#include "pending.h"
#include "../role.h"
#include "syncer.h"
#include "../../lib/wire.h"

#define LEDGER_LINE_MAX_FIELDS 3072
#define READ_BATCH 64 /* frames per channel per round, for fairness */
#define EVENTS_MAX 67  /* 64 channels, the signalfd, the timer, the syncer */
/* Records are written once this much is buffered, without waiting for the
 * round to end: a round reads up to READ_BATCH frames from every ready
 * channel, which with 64 providers is 4096 frames, about 1.5 MB of records
 * (the buffer reached 2 MiB). The sync and the reporting of confirmations
 * still follow the round, as before. */
#define LEDGER_FLUSH_AT 65536
/* A signed head closes a group commit once this much has passed since the
 * last one, or this many records are unsigned, and always at a stop: an
 * Ed25519 signature costs about 28 us, too much for every small round at
 * high rates. The loop wakes every second (the expiry timer), so a quiet
 * ledger's unsigned tail is at most about a second old. */
#define HEAD_MIN_INTERVAL_MS 50
#define HEAD_EVERY_RECORDS 4096

struct uncovered {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t value[WIRE_DIGEST_LEN];
	uint8_t stage;
};

struct peer {
	const struct association_provider *cfg;
	struct chain_state chain;
	struct uncovered *queue;   /* capacity cfg->checkpoint_every */
	uint32_t queued;
	/* The first 8 bytes of the chain after each of its last JOURNAL_FRAMES
	 * signals (index pseq % JOURNAL_FRAMES): a frame sent again from its
	 * journal is told from a different one claiming the same pseq. */
	uint64_t *recent_chain;
	/* Since this association started, no frame has extended its chain: a
	 * gap is what a killed predecessor read and never recorded, and the
	 * provider's journal fills it when the supervisor asks; frames ahead
	 * of the gap are held back (they come again) rather than rejected. */
	bool resyncing;
	uint64_t resent;           /* frames skipped: its ledger already held them */
	uint64_t held;             /* frames ahead of a gap while resyncing */
	uint64_t held_in_gap;      /* of them, behind the gap it is in now */
	uint64_t ignored;          /* frames dropped while untrusted */
	uint64_t over_quota;       /* operations not tracked: at its pending quota */
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
	struct pending_table pending;
	struct ledger_writer ledger;
	struct reported *report;   /* confirmations, logged after the commit */
	size_t report_len, report_cap; /* in entries */
	uint64_t confirmed, incomplete, rejected;
	bool replaying;            /* rebuilding from the ledger: nothing is written */
	struct syncer sync;        /* fdatasync off the loop (syncer.h) */
	bool sync_in_flight;
	uint64_t sync_seq;         /* the in-flight sync makes records up to this seq durable */
	size_t sync_report_end;    /* and lets report[0, this) be printed */
	uint8_t head_sk[64];       /* its own Ed25519 key: signs ledger heads, never an outcome */
	uint64_t head_record_seq;  /* seq of the last record a head covers or is */
	uint64_t head_ms;          /* CLOCK_MONOTONIC ms of the last head */
	struct ledger_head last_head; /* the last head it wrote (seq 0: none yet) */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static int record(struct association *as, const char *type, json_t *fields)
{
	if (as->replaying) {
		json_decref(fields);
		return 0;
	}
	if (!fields || ledger_append(&as->ledger, type, fields) < 0) {
		log_error("ledger: cannot buffer a %s record", type);
		return -1;
	}
	return 0;
}

/* Hot-path records: fields formatted straight into the line (hex, integers
 * and provider names need no escaping), no JSON tree per record. */
static int __attribute__((format(printf, 3, 4))) record_fmt(struct association *as, const char *type,
							     const char *fmt, ...)
{
	char fields[LEDGER_LINE_MAX_FIELDS];
	va_list ap;
	if (as->replaying)
		return 0;
	va_start(ap, fmt);
	int n = vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(fields) || ledger_append_fields(&as->ledger, type, fields, (size_t)n) < 0) {
		log_error("ledger: cannot buffer a %s record", type);
		return -1;
	}
	return 0;
}

/* The same, for fields built without printf (ledger.h). */
static int record_built(struct association *as, const char *type, const struct ledger_fields *f)
{
	if (as->replaying)
		return 0;
	if (ledger_append_built(&as->ledger, type, f) < 0) {
		log_error("ledger: cannot buffer a %s record", type);
		return -1;
	}
	return 0;
}

/* ["A","B",…] of the providers with both stages covered, sorted. */
static int providers_text(struct association *as, const struct pending_op *e, char *out, size_t cap)
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (e->have[i] == 3)
			names[n++] = as->cfg->providers[i].name;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *tmp = names[j];
			names[j] = names[j - 1];
			names[j - 1] = tmp;
		}
	size_t off = 0;
	out[off++] = '[';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + off, cap - off, "%s\"%s\"", i ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= cap - off)
			return -1;
		off += (size_t)w;
	}
	if (off + 2 > cap)
		return -1;
	out[off++] = ']';
	out[off] = '\0';
	return 0;
}

static int record_rejected(struct association *as, struct peer *pr, const char *reason)
{
	as->rejected++;
	if (!as->replaying)
		log_warn("provider %s: rejected: %s", pr->cfg->name, reason);
	return record(as, "rejected", json_pack("{s:s, s:s, s:I}", "provider", pr->cfg->name, "reason", reason,
						"t", (json_int_t)clock_ns(CLOCK_REALTIME)));
}

/* Anything that does not extend the chain ends trust in this provider until
 * it opens a new signed epoch; only the first such frame is recorded. */
static int distrust(struct association *as, struct peer *pr, const char *reason)
{
	bool first = pr->chain.trusted;
	pr->chain.trusted = false;
	pr->queued = 0;
	if (!first) {
		pr->ignored++;
		return 0;
	}
	return record_rejected(as, pr, reason);
}


static void report_confirmation(struct association *as, const uint8_t op[WIRE_DIGEST_LEN], size_t n_providers)
{
	if (as->replaying)
		return;
	if (as->report_len == as->report_cap) {
		size_t cap = as->report_cap ? as->report_cap * 2 : 256;
		struct reported *nb = reallocarray(as->report, cap, sizeof(*nb));
		if (!nb)
			return; /* the log is best effort; the ledger is the record */
		as->report = nb;
		as->report_cap = cap;
	}
	struct reported *r = &as->report[as->report_len++];
	memcpy(r->op, op, WIRE_DIGEST_LEN);
	r->n_providers = (uint8_t)n_providers; /* at most 64 */
}

/* The `confirmed` record of e. */
static int write_confirmation(struct association *as, struct pending_op *e)
{
	struct linkage_part parts[64];
	uint8_t linkage[WIRE_DIGEST_LEN];
	size_t n = 0;

	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		if (e->have[i] != 3)
			continue;
		parts[n].provider = as->cfg->providers[i].name;
		memcpy(parts[n].start, e->values[i][0], WIRE_DIGEST_LEN);
		memcpy(parts[n].complete, e->values[i][1], WIRE_DIGEST_LEN);
		n++;
	}
	derive_linkage(e->op, parts, n, linkage);
	e->recorded = true;
	as->confirmed++;
	report_confirmation(as, e->op, n);
	char list[64 * (WIRE_PROVIDER_ID_MAX + 3) + 3];
	if (providers_text(as, e, list, sizeof(list)) < 0)
		return -1;
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, e->op, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"providers\":");
	ledger_fields_text(&f, list);
	ledger_fields_text(&f, ",\"linkage\":\"");
	ledger_fields_hex(&f, linkage, sizeof(linkage));
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, clock_ns(CLOCK_REALTIME));
	return record_built(as, "confirmed", &f);
}

/* The rule holds for e. While rebuilding, the ledger says whether its
 * record was written (replay_closed); one that never was is written when
 * the rebuild ends (confirm_unrecorded). */
static int confirm(struct association *as, struct pending_op *e)
{
	e->confirmed = true;
	return as->replaying ? 0 : write_confirmation(as, e);
}

static int expire(struct association *as, struct pending_op *e)
{
	int rc = 0;
	if (!e->confirmed) {
		as->incomplete++;
		char list[64 * (WIRE_PROVIDER_ID_MAX + 3) + 3], op_hex[65];
		hex_encode(e->op, WIRE_DIGEST_LEN, op_hex);
		rc = providers_text(as, e, list, sizeof(list));
		if (rc == 0)
			rc = record_fmt(as, "incomplete", "\"op\":\"%s\",\"providers\":%s,\"t\":%" PRIu64, op_hex, list,
					clock_ns(CLOCK_REALTIME));
	}
	pending_remove(&as->pending, e);
	return rc;
}

/* A provider at its pending quota makes room by giving up its own oldest
 * operation that no other provider contributed to: recorded incomplete. */
static int evict_own(void *ctx, struct pending_op *e)
{
	struct association *as = ctx;
	if (expire(as, e) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int apply_covered(struct association *as, size_t who, const struct uncovered *u)
{
	uint64_t now_ms = clock_ns(CLOCK_MONOTONIC) / 1000000u;
	struct pending_op *e = pending_admit(&as->pending, u->op, who, now_ms, evict_own, as);
	if (!e && errno == ENOSPC) {
		/* At its quota, and every operation it holds is shared with
		 * another provider: its value is in the ledger, but this
		 * operation is not tracked (pending.h). */
		if (!as->replaying && as->peers[who].over_quota++ == 0)
			log_warn("provider %s: %u pending operations, its quota: an operation is not tracked",
				 as->cfg->providers[who].name, as->pending.quota);
		return 0;
	}
	if (!e) {
		/* The index could not grow (out of memory), or the eviction's
		 * record could not be buffered. The supervisor restarts the
		 * role, which rebuilds from the ledger. */
		log_error("pending table: cannot admit an operation with %u pending", as->pending.used);
		return -1;
	}
	uint8_t bit = u->stage == STAGE_START ? 1 : 2;
	if (e->have[who] & bit)
		return 0; /* a duplicate: the first covered value stands */
	e->have[who] |= bit;
	memcpy(e->values[who][bit - 1], u->value, WIRE_DIGEST_LEN);
	if (e->have[who] != 3)
		return 0;
	e->complete++;
	if (e->confirmed || e->complete < as->cfg->confirm_k)
		return 0;
	int rc = confirm(as, e);
	/* With confirm = all no later signal can belong to this op; with K of N
	 * the entry stays (confirmed) until it ages out, absorbing late ones.
	 * A rebuild keeps it until the ledger says it was recorded. */
	if (e->complete == as->cfg->n_providers && !as->replaying)
		pending_remove(&as->pending, e);
	return rc;
}

static uint64_t chain_prefix(const uint8_t chain[WIRE_DIGEST_LEN])
{
	uint64_t v;
	memcpy(&v, chain, sizeof(v));
	return v;
}

/* A signal at or below the chain's seq: sent again from the provider's
 * journal (skipped), or, if its chain differs from the one recorded for
 * that pseq, a second history (rejected). Beyond the kept window it can
 * only be skipped: the ledger holds the first. */
static int on_old_signal(struct association *as, struct peer *pr, const struct signal_frame *s)
{
	char why[96];
	if (pr->chain.seq - s->seq < JOURNAL_FRAMES &&
	    pr->recent_chain[s->seq % JOURNAL_FRAMES] != chain_prefix(s->chain)) {
		snprintf(why, sizeof(why), "signal pseq %" PRIu64 " differs from the one recorded", s->seq);
		return distrust(as, pr, why);
	}
	pr->resent++;
	return 0;
}

/* A frame ahead of the gap a killed predecessor left: it comes again with
 * the provider's journal. Its journal keeps JOURNAL_FRAMES frames, so a gap
 * it cannot fill shows as more frames held than that: said once, loudly,
 * since that provider's signals no longer count in this run. */
static int hold(struct peer *pr, uint64_t seq)
{
	pr->held++;
	if (++pr->held_in_gap == 2 * (uint64_t)JOURNAL_FRAMES)
		log_error("provider %s: %" PRIu64 " frames held back behind a gap after pseq %" PRIu64
			  " (the latest %" PRIu64 "), and its journal has not filled it: its signals do not count "
			  "until it opens a new epoch", pr->cfg->name, pr->held_in_gap, pr->chain.seq, seq);
	return 0;
}

static int on_signal(struct association *as, size_t who, const struct signal_frame *s)
{
	struct peer *pr = &as->peers[who];
	const char *why = NULL;

	if (!pr->chain.trusted) {
		pr->ignored++;
		return 0;
	}
	if (s->seq <= pr->chain.seq)
		return on_old_signal(as, pr, s);
	if (pr->resyncing && s->seq > pr->chain.seq + 1)
		return hold(pr, s->seq);
	if (pr->queued >= pr->cfg->checkpoint_every)
		return distrust(as, pr, "more uncovered signals than checkpoint_every");
	if (!chain_accept_signal(&pr->chain, s, &why))
		return record_rejected(as, pr, why);
	pr->resyncing = false;
	pr->held_in_gap = 0;
	pr->recent_chain[s->seq % JOURNAL_FRAMES] = chain_prefix(s->chain);
	struct uncovered *u = &pr->queue[pr->queued++];
	memcpy(u->op, s->op, WIRE_DIGEST_LEN);
	memcpy(u->value, s->value, WIRE_DIGEST_LEN);
	u->stage = s->stage;
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, s->op, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"provider\":\"");
	ledger_fields_text(&f, s->provider);
	ledger_fields_text(&f, "\",\"stage\":\"");
	ledger_fields_text(&f, wire_stage_name(s->stage));
	ledger_fields_text(&f, "\",\"value\":\"");
	ledger_fields_hex(&f, s->value, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, s->t_ns);
	ledger_fields_text(&f, ",\"pseq\":");
	ledger_fields_u64(&f, s->seq);
	ledger_fields_text(&f, ",\"chain\":\"");
	ledger_fields_hex(&f, s->chain, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\"");
	return record_built(as, "signal", &f);
}

/* A checkpoint of the current epoch that covers nothing new: sent again
 * from the journal (skipped), unless its head differs from the chain
 * recorded at its pseq. Returns 1 when it was such a checkpoint. */
static int old_checkpoint(struct association *as, struct peer *pr, const struct checkpoint_frame *c, int *rc)
{
	const struct chain_state *cs = &pr->chain;
	char why[96];
	if (!cs->trusted || memcmp(c->epoch, cs->epoch, WIRE_EPOCH_LEN) != 0)
		return 0;
	if (c->seq > cs->seq || (c->seq == cs->seq && c->seq > cs->covered_seq))
		return 0;
	uint8_t origin[WIRE_DIGEST_LEN];
	bool differs;
	if (c->seq == 0) {
		derive_chain_origin(c->epoch, origin);
		differs = memcmp(origin, c->head, WIRE_DIGEST_LEN) != 0;
	} else {
		differs = cs->seq - c->seq < JOURNAL_FRAMES &&
			  pr->recent_chain[c->seq % JOURNAL_FRAMES] != chain_prefix(c->head);
	}
	if (differs) {
		snprintf(why, sizeof(why), "checkpoint pseq %" PRIu64 " differs from the chain recorded", c->seq);
		*rc = distrust(as, pr, why);
	} else {
		pr->resent++;
		*rc = 0;
	}
	return 1;
}

static int on_checkpoint(struct association *as, size_t who, const struct checkpoint_frame *c)
{
	struct peer *pr = &as->peers[who];
	const char *why = NULL;
	bool was_trusted = pr->chain.trusted;
	int rc;

	if (old_checkpoint(as, pr, c, &rc))
		return rc;
	if (pr->resyncing && was_trusted && c->seq > pr->chain.seq &&
	    memcmp(c->epoch, pr->chain.epoch, WIRE_EPOCH_LEN) == 0)
		return hold(pr, c->seq);
	if (!chain_accept_checkpoint(&pr->chain, c, pr->cfg->public_key, &why)) {
		if (!was_trusted && c->seq != 0) {
			pr->ignored++;
			return 0;
		}
		return record_rejected(as, pr, why);
	}
	pr->resyncing = false;
	pr->held_in_gap = 0;
	if (c->seq == 0 && pr->queued > 0) {
		log_warn("provider %s: new epoch; %u signals of the previous one were never covered",
			 pr->cfg->name, pr->queued);
		pr->queued = 0;
	}
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"provider\":\"");
	ledger_fields_text(&f, c->provider);
	ledger_fields_text(&f, "\",\"epoch\":\"");
	ledger_fields_hex(&f, c->epoch, WIRE_EPOCH_LEN);
	ledger_fields_text(&f, "\",\"pseq\":");
	ledger_fields_u64(&f, c->seq);
	ledger_fields_text(&f, ",\"head\":\"");
	ledger_fields_hex(&f, c->head, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"sig\":\"");
	ledger_fields_hex(&f, c->sig, WIRE_SIG_LEN);
	ledger_fields_text(&f, "\"");
	if (record_built(as, "checkpoint", &f) < 0)
		return -1;
	for (uint32_t i = 0; i < pr->queued; i++)
		if (apply_covered(as, who, &pr->queue[i]) < 0)
			return -1;
	pr->queued = 0;
	return 0;
}

static int on_frame(struct association *as, size_t who, const uint8_t *buf, size_t len)
{
	struct peer *pr = &as->peers[who];
	struct signal_frame s;
	struct checkpoint_frame c;
	enum wire_err e;
	char why[128];

	uint8_t type = wire_peek_type(buf, len);
	if (type == WIRE_SIGNAL && (e = signal_decode(buf, len, &s)) == WIRE_OK) {
		if (strcmp(s.provider, pr->cfg->name) != 0)
			return distrust(as, pr, "signal names another provider than its channel's");
		return on_signal(as, who, &s);
	}
	if (type == WIRE_CHECKPOINT && (e = checkpoint_decode(buf, len, &c)) == WIRE_OK) {
		if (strcmp(c.provider, pr->cfg->name) != 0)
			return distrust(as, pr, "checkpoint names another provider than its channel's");
		return on_checkpoint(as, who, &c);
	}
	if (type != WIRE_SIGNAL && type != WIRE_CHECKPOINT)
		e = len < 2 ? WIRE_ETRUNC : (buf[0] != WIRE_VERSION ? WIRE_EVERSION : WIRE_ETYPE);
	pr->wire.rejected[e]++;
	snprintf(why, sizeof(why), "malformed frame: %s", wire_strerror(e));
	return distrust(as, pr, why);
}

/* Reads up to READ_BATCH frames with one recvmmsg; *more is set when the
 * channel may hold more. */
static int read_channel(struct association *as, size_t who, bool *more)
{
	static uint8_t bufs[READ_BATCH][SIGNAL_CHANNEL_FRAME_MAX + 1];
	struct mmsghdr msgs[READ_BATCH];
	struct iovec iov[READ_BATCH];
	*more = false;
	for (int i = 0; i < READ_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	int n;
	do
		n = recvmmsg(as->cfg->providers[who].signal_fd, msgs, READ_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_errno("signal channel of %s", as->cfg->providers[who].name);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (on_frame(as, who, bufs[i], msgs[i].msg_len) < 0)
			return -1;
	*more = n == READ_BATCH;
	return 0;
}

static int sweep_expired(struct association *as)
{
	uint64_t now_ms = clock_ns(CLOCK_MONOTONIC) / 1000000u;
	uint64_t age_ms = (uint64_t)as->cfg->pending_timeout * 1000u;
	struct pending_op *e;
	while ((e = pending_oldest(&as->pending)) && now_ms - e->created_ms >= age_ms)
		if (expire(as, e) < 0)
			return -1;
	return 0;
}

/* Logs report[0, end): one line per confirmation, written 8 KiB at a time. */
static void print_reports(struct association *as, size_t end)
{
	char out[8192];
	size_t off = 0;
	if (end == 0)
		return;
	for (size_t i = 0; i < end; i++) {
		char op_hex[2 * WIRE_DIGEST_LEN + 1];
		hex_encode(as->report[i].op, WIRE_DIGEST_LEN, op_hex);
		int len = snprintf(out + off, sizeof(out) - off, "association: confirmed %s (%u providers)\n", op_hex,
				   (unsigned)as->report[i].n_providers);
		if (len > 0)
			off += (size_t)len; /* a line is under 120 bytes: it always fits below */
		if (i + 1 == end || off > sizeof(out) - 160) {
			ssize_t n = write(2, out, off);
			(void)n; /* the log is best effort; the ledger is the record */
			off = 0;
		}
	}
	memmove(as->report, as->report + end, (as->report_len - end) * sizeof(*as->report));
	as->report_len -= end;
}

static int flush_if_large(struct association *as)
{
	if (as->ledger.len >= LEDGER_FLUSH_AT && ledger_flush(&as->ledger) < 0) {
		log_errno("ledger write");
		return -1;
	}
	return 0;
}

/* A signed head over everything buffered so far (docs/VERIFY.md), at a
 * group commit with new records, bounded as HEAD_MIN_INTERVAL_MS says;
 * `now` forces one (the stop). */
static int append_head(struct association *as, bool now)
{
	uint64_t now_ms = clock_ns(CLOCK_MONOTONIC) / 1000000u;
	if (as->replaying || as->ledger.seq == as->head_record_seq)
		return 0;
	if (!now && now_ms - as->head_ms < HEAD_MIN_INTERVAL_MS &&
	    as->ledger.seq - as->head_record_seq < HEAD_EVERY_RECORDS)
		return 0;
	struct ledger_head h = { .seq = as->ledger.seq };
	memcpy(h.hash, as->ledger.prev, WIRE_DIGEST_LEN);
	if (ledger_append_head(&as->ledger, as->head_sk) < 0) {
		log_errno("ledger: cannot buffer a head record");
		return -1;
	}
	as->last_head = h;
	as->head_record_seq = as->ledger.seq;
	as->head_ms = now_ms;
	return 0;
}

/* Group commit: what this round produced and flush_if_large did not write
 * yet is written now, closed by a signed head when one is due;
 * at most one fdatasync runs at a time in the syncer thread, covering all
 * that was written before it started, while the loop goes on. */
static int commit(struct association *as)
{
	if (append_head(as, false) < 0)
		return -1;
	if (as->ledger.len > 0 && ledger_flush(&as->ledger) < 0) {
		log_errno("ledger write");
		return -1;
	}
	if (!as->sync_in_flight && as->ledger.seq > as->sync.synced) {
		as->sync_in_flight = true;
		as->sync_seq = as->ledger.seq;
		as->sync_report_end = as->report_len;
		syncer_request(&as->sync, as->sync_seq);
	}
	return 0;
}

/* The syncer finished one fdatasync: the confirmations it covered are on
 * disk, and may be reported. */
static int on_synced(struct association *as)
{
	uint64_t synced;
	if (syncer_collect(&as->sync, &synced) < 0) {
		log_errno("ledger fdatasync");
		return -1;
	}
	if (as->sync_in_flight && synced >= as->sync_seq) {
		as->sync_in_flight = false;
		print_reports(as, as->sync_report_end);
	}
	return commit(as);
}

/* At stop: the last records written and synced here, then reported. */
static int commit_final(struct association *as)
{
	if (append_head(as, true) < 0)
		return -1;
	if (ledger_commit(&as->ledger) < 0) {
		log_errno("ledger commit");
		return -1;
	}
	print_reports(as, as->report_len);
	return 0;
}

static int drain_all(struct association *as)
{
	bool more = true;
	while (more) {
		more = false;
		for (size_t i = 0; i < as->cfg->n_providers; i++) {
			bool m;
			if (read_channel(as, i, &m) < 0 || flush_if_large(as) < 0)
				return -1;
			more |= m;
		}
		/* Written pass by pass: what the channels still hold at a stop
		 * (thousands of frames at saturation) would otherwise pile up in
		 * the buffer before one write (it grew to 2 MiB in a bench stop). */
		if (as->ledger.len > 0 && ledger_flush(&as->ledger) < 0) {
			log_errno("ledger write");
			return -1;
		}
	}
	return commit_final(as);
}

static int setup_loop(struct association *as, int sfd, int tfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };
	if (ep < 0 || timerfd_settime(tfd, 0, &every_second, NULL) < 0) {
		log_errno("epoll/timer setup");
		return -1;
	}
	for (size_t i = 0; i <= as->cfg->n_providers + 2; i++) {
		size_t n = as->cfg->n_providers;
		int fd = i < n ? as->cfg->providers[i].signal_fd : i == n ? sfd : i == n + 1 ? tfd : as->sync.done_fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_errno("epoll_ctl");
			return -1;
		}
	}
	return ep;
}

static int loop(struct association *as, int sfd, int tfd, const struct role_seal *seal)
{
	size_t n = as->cfg->n_providers;
	int ep = setup_loop(as, sfd, tfd);
	if (ep < 0)
		return -1;
	if (role_seal_and_report(seal, as->cfg->status_fd) < 0)
		return -1;
	/* Start-up ran code the loop never runs again (sandbox set-up, the
	 * filter's compilation, the ledger check and rebuild): out of the
	 * resident set with it. A failure is logged and changes nothing else. */
	(void)role_release_startup_code();
	for (;;) {
		struct epoll_event evs[EVENTS_MAX];
		int k = epoll_wait(ep, evs, EVENTS_MAX, -1);
		if (k < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return -1;
		}
		for (int i = 0; i < k; i++) {
			size_t idx = evs[i].data.u64;
			bool more;
			if (idx < n && (read_channel(as, idx, &more) < 0 || flush_if_large(as) < 0))
				return -1;
			if (idx == n && role_stop_requested(sfd))
				return drain_all(as);
			if (idx == n + 1) {
				uint64_t ticks;
				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					log_errno("timerfd");
				if (sweep_expired(as) < 0)
					return -1;
			}
			if (idx == n + 2 && on_synced(as) < 0)
				return -1;
		}
		if (commit(as) < 0)
			return -1;
	}
}

static int peers_init(struct association *as)
{
	as->peers = calloc(as->cfg->n_providers, sizeof(*as->peers));
	if (!as->peers)
		return -1;
	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		as->peers[i].cfg = &as->cfg->providers[i];
		chain_init(&as->peers[i].chain);
		as->peers[i].queue = calloc(as->cfg->providers[i].checkpoint_every, sizeof(struct uncovered));
		as->peers[i].recent_chain = calloc(JOURNAL_FRAMES, sizeof(uint64_t));
		if (!as->peers[i].queue || !as->peers[i].recent_chain)
			return -1;
	}
	return 0;
}

static void peers_free(struct association *as)
{
	for (size_t i = 0; as->peers && i < as->cfg->n_providers; i++) {
		free(as->peers[i].queue);
		free(as->peers[i].recent_chain);
	}
	free(as->peers);
}

static ssize_t peer_index(const struct association *as, const char *name)
{
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (strcmp(as->cfg->providers[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static void replay_signal(void *ctx, const struct signal_frame *s)
{
	struct association *as = ctx;
	ssize_t who = peer_index(as, s->provider);
	if (who >= 0)
		on_signal(as, (size_t)who, s);
}

static void replay_checkpoint(void *ctx, const struct checkpoint_frame *c)
{
	struct association *as = ctx;
	ssize_t who = peer_index(as, c->provider);
	if (who >= 0)
		on_checkpoint(as, (size_t)who, c);
}

static void replay_closed(void *ctx, const uint8_t op[WIRE_DIGEST_LEN], bool confirmed)
{
	struct association *as = ctx;
	struct pending_op *e = pending_find(&as->pending, op);
	if (!e)
		return;
	if (confirmed) {
		e->confirmed = e->recorded = true;
		if (e->complete < as->cfg->n_providers)
			return; /* K of N: it absorbs late signals until it ages out */
	}
	pending_remove(&as->pending, e);
}

/* A kill between a checkpoint's record and the `confirmed` it made (one
 * write can be cut between them) leaves an operation the rule confirms
 * with no record: written now, once. Returns how many, or -1. */
static int confirm_unrecorded(struct association *as)
{
	int n = 0;
	struct pending_op *e = pending_oldest(&as->pending), *next;
	for (; e; e = next) {
		next = pending_next(&as->pending, e);
		if (!e->confirmed || e->recorded)
			continue;
		if (write_confirmation(as, e) < 0)
			return -1;
		n++;
		if (e->complete == as->cfg->n_providers)
			pending_remove(&as->pending, e);
	}
	return n;
}

/* A restarted association first walks its own ledger through the same
 * code that built it, with writing turned off: chain heads, uncovered
 * signals and pending operations come back as they were, so the frames
 * still queued in the channels (the supervisor kept them) continue them. */
static int rebuild_from_ledger(struct association *as)
{
	static const struct ledger_replay_ops ops = { replay_signal, replay_checkpoint, replay_closed };
	char err[256];
	if (as->ledger.seq == 0)
		return 0;
	as->replaying = true;
	int rc = ledger_replay(as->cfg->ledger_fd, &ops, as, err, sizeof(err));
	as->replaying = false;
	if (rc < 0) {
		log_error("ledger: rebuild: %s", err);
		return -1;
	}
	as->confirmed = as->incomplete = as->rejected = 0;
	int late = confirm_unrecorded(as);
	if (late < 0)
		return -1;
	log_info("rebuilt from %" PRIu64 " ledger records: %u operations pending", as->ledger.seq, as->pending.used);
	if (late)
		log_info("confirmed %d operations the ledger had covered but not yet recorded as confirmed", late);
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		as->peers[i].resyncing = as->peers[i].chain.trusted;
	return 0;
}

int association_main(const struct association_config *cfg, const struct role_seal *seal)
{
	struct association as = { .cfg = cfg };
	char err[512];
	int status = 1;
	int sfd = role_stop_signalfd();
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (sfd < 0 || tfd < 0 || sodium_init() < 0 || peers_init(&as) < 0 ||
	    pending_init(&as.pending, cfg->n_providers, cfg->pending_max) < 0) {
		log_errno("cannot initialise");
		goto out;
	}
	/* Read now: once sealed it opens no file. */
	if (keys_load_signal_secret(cfg->head_key_path, as.head_sk, err, sizeof(err)) < 0) {
		log_error("head-signing key: %s", err);
		goto out;
	}
	/* Seeded here: unseeded, jansson's first object reads /dev/urandom,
	 * which the sealed association can no longer open. */
	json_object_seed(randombytes_random());
	if (ledger_writer_open(&as.ledger, cfg->ledger_fd, err, sizeof(err)) < 0) {
		/* The supervisor cut any torn tail before this start: what is left
		 * is a complete line that breaks the chain (tampering, corruption),
		 * which no restart repairs. Said once, and never restarted. */
		char why[600];
		snprintf(why, sizeof(why), "ledger: %s", err);
		status = role_report_cannot_start(cfg->status_fd, why);
		goto out;
	}
	/* What an earlier run left after its last head is covered by the next. */
	as.head_record_seq = as.ledger.seq;
	if (rebuild_from_ledger(&as) < 0 || syncer_start(&as.sync, cfg->ledger_fd, as.ledger.seq) < 0) {
		if (errno)
			log_errno("ledger syncer");
		goto out_ledger;
	}
	if (loop(&as, sfd, tfd, seal) == 0)
		status = 0;
	log_info("stopped: %" PRIu64 " confirmed, %" PRIu64 " incomplete, %" PRIu64 " rejected, %u pending",
		 as.confirmed, as.incomplete, as.rejected, as.pending.used);
	for (size_t i = 0; i < cfg->n_providers; i++)
		if (as.peers[i].resent || as.peers[i].held)
			log_info("provider %s: %" PRIu64 " frames it sent again were already recorded, %" PRIu64
				 " held back behind a gap until they came again", cfg->providers[i].name,
				 as.peers[i].resent, as.peers[i].held);
	if (as.last_head.seq > 0) {
		char head[LEDGER_HEAD_TEXT_MAX];
		ledger_head_format(&as.last_head, head);
		log_info("last signed head %s (keep it elsewhere: mpbs-run verify --expect-head %s)", head, head);
	}
out_ledger:
	syncer_stop(&as.sync);
	ledger_writer_close(&as.ledger);
out:
	sodium_memzero(as.head_sk, sizeof(as.head_sk));
	pending_free(&as.pending);
	peers_free(&as);
	free(as.report);
	return status;
}
