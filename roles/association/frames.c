/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Reading and checking a provider's frames: each channel is read in
 * batches, every signal must extend that provider's chain (chain.h) and is
 * recorded and queued until a signed checkpoint covers it; covered signals
 * feed the pending table, and an operation the rule then holds for is
 * confirmed (record.c). A frame sent again from the provider's journal
 * after a restart is told from a second history claiming the same pseq. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../../lib/derive.h"
#include "../../lib/journal.h"
#include "association_internal.h"

#define READ_BATCH ASSOCIATION_READ_DATAGRAMS

static uint32_t chain_prefix(const uint8_t chain[WIRE_DIGEST_LEN])
{
	uint32_t v;
	memcpy(&v, chain, sizeof(v));
	return v;
}

/* Whether the chain a resent frame claims after pseq seq differs from the
 * one recorded there, as far as the peer still knows it: the whole head at
 * the chain's own seq, the prefix kept every RECENT_EVERY pseqs of the
 * window before it, nothing elsewhere (the next kept pseq tells). */
static bool differs_from_recorded(const struct peer *pr, uint64_t seq, const uint8_t chain[WIRE_DIGEST_LEN])
{
	if (seq == pr->chain.seq)
		return memcmp(chain, pr->chain.head, WIRE_DIGEST_LEN) != 0;
	return seq % RECENT_EVERY == 0 && seq >= pr->recent_from && pr->chain.seq - seq < JOURNAL_FRAMES &&
	       pr->recent_chain[(seq / RECENT_EVERY) % RECENT_SLOTS] != chain_prefix(chain);
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

/* ---------------------------------------------------------------- signals */

/* A signal at or below the chain's seq: sent again from the provider's
 * journal (skipped), or, if its chain differs from the one recorded for
 * that pseq, a second history (rejected). Beyond the kept window it can
 * only be skipped: the ledger holds the first. */
static int on_old_signal(struct association *as, struct peer *pr, const struct signal_frame *s)
{
	char why[96];
	if (differs_from_recorded(pr, s->seq, s->chain)) {
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

int peer_on_signal(struct association *as, size_t who, const struct signal_frame *s)
{
	struct peer *pr = &as->peers[who];
	const char *why = NULL;

	as->signals += !as->replaying;
	if (!pr->chain.trusted) {
		pr->ignored++;
		return 0;
	}
	if (s->seq <= pr->chain.seq) {
		pr->await_journal = false; /* the journal's copy has reached back */
		return on_old_signal(as, pr, s);
	}
	if (pr->resyncing && s->seq > pr->chain.seq + 1)
		return hold(pr, s->seq);
	if (pr->resyncing && pr->await_journal && !pr->await_next_held) {
		pr->await_next_held = true;
		return hold(pr, s->seq);
	}
	if (pr->queued >= pr->cfg->checkpoint_every)
		return distrust(as, pr, "more uncovered signals than checkpoint_every");
	if (!chain_accept_signal(&pr->chain, s, &why))
		return record_rejected(as, pr, why);
	pr->resyncing = false;
	pr->await_journal = false;
	pr->held_in_gap = 0;
	if (s->seq % RECENT_EVERY == 0)
		pr->recent_chain[(s->seq / RECENT_EVERY) % RECENT_SLOTS] = chain_prefix(s->chain);
	struct l2_uncovered *u = &pr->queue[pr->queued++];
	memcpy(u->op, s->op, WIRE_DIGEST_LEN);
	u->stage = s->stage;
	if (as->replaying)
		return 0;
	if (l2_signal(&as->ledger, (uint8_t)who, s) < 0) {
		log_errno("ledger: cannot buffer a signal");
		return -1;
	}
	return 0;
}

/* ----------------------------------------- covered signals and the rule */

/* The rule holds for e. While rebuilding, the ledger says whether its
 * record was written (replay_closed); one that never was is written when
 * the rebuild ends (confirm_unrecorded). */
static int confirm(struct association *as, struct pending_op *e)
{
	e->confirmed = true;
	return as->replaying ? 0 : record_confirmation(as, e);
}

/* A provider at its pending quota makes room by giving up its own oldest
 * operation that no other provider contributed to: recorded incomplete. */
static int evict_own(void *ctx, struct pending_op *e)
{
	struct association *as = ctx;
	size_t who = (size_t)__builtin_ctzll(e->charged); /* its one contributor */
	/* Said once per provider: across hosts, a provider on the
	 * association's host runs ahead of remote ones by their lag, and
	 * pending_max must hold rate x lag (docs/MULTIHOST.md). */
	if (!as->replaying && as->peers[who].evicted++ == 0)
		log_warn("provider %s: at its quota of %u pending operations: its oldest operation no other provider "
			 "has contributed to is recorded incomplete (and so on, without another warning)",
			 as->cfg->providers[who].name, as->pending.quota);
	if (record_expire(as, e) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* A signal a checkpoint covered: its value joins its operation's entry in
 * the pending table, and the operation is confirmed once confirm_k
 * providers have both stages covered. */
static int apply_covered(struct association *as, size_t who, const struct l2_uncovered *u, uint64_t now_ms)
{
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
	uint8_t bit = u->stage == STAGE_START ? STAGE_START : STAGE_COMPLETE;
	if (e->have[who] & bit)
		return 0; /* a duplicate: the first covered value stands */
	e->have[who] |= bit;
	if (e->have[who] != STAGES_BOTH)
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

/* ------------------------------------------------------------ checkpoints */

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
		differs = differs_from_recorded(pr, c->seq, c->head);
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

int peer_on_checkpoint(struct association *as, size_t who, const struct checkpoint_frame *c)
{
	struct peer *pr = &as->peers[who];
	const char *why = NULL;
	bool was_trusted = pr->chain.trusted;
	int rc;

	as->checkpoints += !as->replaying;
	if (old_checkpoint(as, pr, c, &rc)) {
		pr->await_journal = false; /* the journal's copy has reached back */
		return rc;
	}
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
	pr->await_journal = false;
	pr->held_in_gap = 0;
	if (c->seq == 0)
		pr->recent_from = 0; /* every pseq of the new epoch passes through here */
	if (c->seq == 0 && pr->queued > 0) {
		log_warn("provider %s: new epoch; %u signals of the previous one were never covered",
			 pr->cfg->name, pr->queued);
		pr->queued = 0;
	}
	/* Accepted with pseq 0, it opened an epoch (one that covers nothing
	 * new with pseq 0 was an old_checkpoint above). */
	if (!as->replaying && l2_checkpoint(&as->ledger, (uint8_t)who, c, c->seq == 0) < 0) {
		log_errno("ledger: cannot buffer a checkpoint");
		return -1;
	}
	uint64_t now_ms = clock_mono_ms(); /* one reading for all it covers */
	for (uint32_t i = 0; i < pr->queued; i++)
		if (apply_covered(as, who, &pr->queue[i], now_ms) < 0)
			return -1;
	pr->queued = 0;
	return 0;
}

/* ------------------------------------------------------------ the channel */

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
		return peer_on_signal(as, who, &s);
	}
	if (type == WIRE_CHECKPOINT && (e = checkpoint_decode(buf, len, &c)) == WIRE_OK) {
		if (strcmp(c.provider, pr->cfg->name) != 0)
			return distrust(as, pr, "checkpoint names another provider than its channel's");
		return peer_on_checkpoint(as, who, &c);
	}
	if (type != WIRE_SIGNAL && type != WIRE_CHECKPOINT)
		e = len < 2 ? WIRE_ETRUNC : (buf[0] != WIRE_VERSION ? WIRE_EVERSION : WIRE_ETYPE);
	pr->wire.rejected[e]++;
	snprintf(why, sizeof(why), "malformed frame: %s", wire_strerror(e));
	return distrust(as, pr, why);
}

/* A datagram: one or more whole frames back to back. Bytes that are not a
 * whole frame are a malformed frame (the rest of the datagram with it). */
static int on_datagram(struct association *as, size_t who, const uint8_t *buf, size_t len)
{
	if (len == 0)
		return on_frame(as, who, buf, 0);
	while (len > 0) {
		size_t n = wire_signal_channel_frame_len(buf, len);
		if (n == 0)
			return on_frame(as, who, buf, len);
		if (on_frame(as, who, buf, n) < 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads up to READ_BATCH datagrams with one recvmmsg; *more is set when
 * the channel may hold more. */
int peer_read_channel(struct association *as, size_t who, bool *more)
{
	static uint8_t bufs[READ_BATCH][SIGNAL_DATAGRAM_MAX + 1];
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
		if (on_datagram(as, who, bufs[i], msgs[i].msg_len) < 0)
			return -1;
	*more = n == READ_BATCH;
	return 0;
}
