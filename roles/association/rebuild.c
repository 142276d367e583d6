/* SPDX-License-Identifier: Apache-2.0 */
/* The rebuild of a restarted association from its live segment
 * (docs/LEDGER.md): the segment's first record restores every provider's
 * chain state, its uncovered signals and the operations still open; the
 * records after it go through the frame handlers (frames.c) with writing
 * turned off, and what the segment says was closed is closed. A fresh, empty
 * file begins the ledger. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/derive.h"
#include "../../lib/ledger2_walk.h"
#include "../../lib/sha256.h"
#include "association_internal.h"

/* The walk's records (lib/ledger2_walk.h) applied to the association. */
struct replay {
	struct association *as;
	bool sealed;   /* the last record read was the segment's seal */
	char why[256];
};

static int fail(struct replay *r, const struct l2_entry *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct replay *r, const struct l2_entry *e, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->why, sizeof(r->why), "block %" PRIu64 " (offset %" PRIu64 "): %s", e->block, e->block_off, what);
	return 1;
}

static int restore_state(struct replay *r, const struct l2_entry *e, size_t i)
{
	struct peer *pr = &r->as->peers[i];
	const struct l2_state *st = &e->start->states[i];
	chain_init(&pr->chain);
	pr->queued = 0;
	if (!st->open)
		return 0;
	if (st->pseq - st->covered > pr->cfg->checkpoint_every)
		return fail(r, e, "segment record: provider %s: %" PRIu64 " uncovered signals, more than checkpoint_every",
			    pr->cfg->name, st->pseq - st->covered);
	pr->chain.trusted = true;
	memcpy(pr->chain.epoch, st->epoch, WIRE_EPOCH_LEN);
	memcpy(pr->chain.head, st->head, WIRE_DIGEST_LEN);
	pr->chain.seq = st->pseq;
	pr->chain.covered_seq = st->covered;
	pr->recent_from = st->pseq + 1;
	pr->queued = (uint32_t)(st->pseq - st->covered);
	if (pr->queued) /* else st->uncovered may be NULL */
		memcpy(pr->queue, st->uncovered, pr->queued * sizeof(*pr->queue));
	return 0;
}

/* An open operation as the segment carried it, back in the pending table. */
static void restore_carried(struct association *as, const struct l2_carried *c)
{
	struct pending_op *e = NULL;
	uint64_t now_ms = clock_mono_ms();
	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		uint8_t have = (uint8_t)(((c->start_mask >> i) & 1) * STAGE_START |
					 ((c->complete_mask >> i) & 1) * STAGE_COMPLETE);
		if (!have)
			continue;
		e = pending_admit(&as->pending, c->op, i, now_ms, NULL, NULL);
		if (!e)
			return; /* at its quota: not tracked, as it would not have been */
		e->have[i] |= have;
		e->complete += e->have[i] == STAGES_BOTH;
	}
	if (e)
		e->confirmed = e->recorded = c->confirmed;
}

static int replay_segment(struct replay *r, const struct l2_entry *e)
{
	struct association *as = r->as;
	const struct l2_segment_hdr *h = e->hdr;
	if (h->n_providers != as->cfg->n_providers)
		return fail(r, e, "the live segment names %u providers, the topology %zu", h->n_providers,
			    as->cfg->n_providers);
	for (size_t i = 0; i < h->n_providers; i++)
		if (strcmp(h->names[i], as->cfg->providers[i].name) != 0)
			return fail(r, e, "the live segment's provider %zu is %s, the topology's %s", i + 1, h->names[i],
				    as->cfg->providers[i].name);
	for (size_t i = 0; i < h->n_providers; i++)
		if (restore_state(r, e, i) != 0)
			return 1;
	for (size_t k = 0; k < e->start->n_carried; k++)
		restore_carried(as, &e->start->carried[k]);
	as->ledger.segment = h->segment;
	as->ledger.records = h->first_record;
	memcpy(as->ledger.chain, h->prev, WIRE_DIGEST_LEN);
	return 0;
}

/* Everything here was accepted once: a signal or checkpoint that is not
 * now is an altered file, never a provider's fault. */
static int replay_signal(struct replay *r, const struct l2_entry *e)
{
	struct peer *pr = &r->as->peers[e->p];
	struct signal_frame s = { .stage = e->stage, .t_ns = e->t, .seq = e->pseq };
	snprintf(s.provider, sizeof(s.provider), "%s", pr->cfg->name);
	memcpy(s.op, e->op, WIRE_DIGEST_LEN);
	memcpy(s.value, e->value, WIRE_DIGEST_LEN);
	uint8_t head[WIRE_DIGEST_LEN];
	memcpy(head, pr->chain.head, WIRE_DIGEST_LEN);
	chain_extend(head, &s);
	if (peer_on_signal(r->as, e->p, &s) < 0)
		return fail(r, e, "signals record: provider %s pseq %" PRIu64 ": cannot replay", pr->cfg->name, s.seq);
	if (!pr->chain.trusted || pr->chain.seq != s.seq)
		return fail(r, e, "signals record: provider %s pseq %" PRIu64 " does not extend its chain",
			    pr->cfg->name, s.seq);
	return 0;
}

static int replay_checkpoint(struct replay *r, const struct l2_entry *e)
{
	const struct l2_checkpoint_rec *k = e->checkpoint;
	struct peer *pr = &r->as->peers[e->p];
	struct checkpoint_frame f = { .seq = k->pseq };
	snprintf(f.provider, sizeof(f.provider), "%s", pr->cfg->name);
	memcpy(f.epoch, k->opens ? k->epoch : pr->chain.epoch, WIRE_EPOCH_LEN);
	if (k->opens)
		derive_chain_origin(f.epoch, f.head);
	else
		memcpy(f.head, pr->chain.head, WIRE_DIGEST_LEN);
	memcpy(f.sig, k->sig, WIRE_SIG_LEN);
	if (peer_on_checkpoint(r->as, e->p, &f) < 0)
		return fail(r, e, "checkpoint record: provider %s: cannot replay", pr->cfg->name);
	if (!pr->chain.trusted || pr->chain.covered_seq != k->pseq || pr->chain.seq != k->pseq)
		return fail(r, e, "checkpoint record: provider %s pseq %" PRIu64 " does not verify", pr->cfg->name,
			    k->pseq);
	return 0;
}

/* A confirmed or incomplete entry: what it closed is closed. */
static void replay_closed(struct association *as, const uint8_t *op, bool confirmed)
{
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

/* A head must sign the chain of the blocks before its own. */
static int replay_head(struct replay *r, const struct l2_entry *e)
{
	struct association *as = r->as;
	if (e->head->covers != as->ledger.records ||
	    memcmp(e->head->chain, as->ledger.chain, WIRE_DIGEST_LEN) != 0)
		return fail(r, e, "head record: the chain it signs is not the chain of the blocks before it");
	r->sealed = e->head->seal;
	as->last_head.seq = e->head->covers;
	memcpy(as->last_head.hash, e->head->chain, WIRE_DIGEST_LEN);
	return 0;
}

static int replay_entry(void *ctx, const struct l2_entry *e)
{
	struct replay *r = ctx;
	struct association *as = r->as;
	int rc = 0;
	if (r->sealed)
		return fail(r, e, "a record after the segment's seal");
	switch (e->type) {
	case L2_SEGMENT: return replay_segment(r, e); /* the walk saw it first, and only there */
	case L2_SIGNALS: rc = replay_signal(r, e); break;
	case L2_CHECKPOINT: rc = replay_checkpoint(r, e); break;
	case L2_CONFIRMED:
	case L2_INCOMPLETE: replay_closed(as, e->op, e->type == L2_CONFIRMED); break;
	case L2_REJECTED: /* a rejection ended that provider's epoch, as the verifier reads it */
		as->peers[e->p].chain.trusted = false;
		as->peers[e->p].queued = 0;
		break;
	case L2_HEAD: rc = replay_head(r, e); break;
	default: return fail(r, e, "unknown record type %u", e->type);
	}
	as->ledger.records += rc == 0;
	return rc;
}

/* After a block's records: the file chain over it, the segment's size. */
static int replay_block(void *ctx, const struct l2_block *b, uint64_t offset)
{
	struct l2_writer *w = &((struct replay *)ctx)->as->ledger;
	sha256_state sh;
	sha256_start(&sh);
	sha256_add(&sh, w->chain, WIRE_DIGEST_LEN);
	sha256_add(&sh, b->start, b->len);
	sha256_end(&sh, w->chain);
	w->seg_bytes = offset + b->len;
	if (!w->seg_t0)
		w->seg_t0 = b->t;
	return 0;
}

/* A kill between a checkpoint's record and the `confirmed` it made leaves
 * an operation the rule confirms with no record: written now, once.
 * Returns how many, or -1. */
static int confirm_unrecorded(struct association *as)
{
	int n = 0;
	struct pending_op *e = pending_oldest(&as->pending), *next;
	for (; e; e = next) {
		next = pending_next(&as->pending, e);
		if (!e->confirmed || e->recorded)
			continue;
		if (record_confirmation(as, e) < 0)
			return -1;
		n++;
		if (e->complete == as->cfg->n_providers)
			pending_remove(&as->pending, e);
	}
	return n;
}

/* No restart repairs it: said once, and never restarted. Returns the exit
 * status that says so. */
static int report_unusable(struct association *as, const char *what, const char *detail)
{
	char why[400];
	snprintf(why, sizeof(why), "ledger: %s%s", what, detail);
	return role_report_cannot_start(as->cfg->status_fd, why);
}

int rebuild_from_ledger(struct association *as)
{
	struct l2_reader rd;
	int first;
	enum l2_read_status st = l2_reader_open(&rd, as->cfg->ledger_fd, &first);
	if (st == L2_READ_EOF) {
		l2_reader_close(&rd);
		return segments_begin_first(as);
	}
	if (st != L2_READ_OK) {
		l2_reader_close(&rd);
		if (st == L2_READ_IO) {
			log_errno("ledger read");
			return -1;
		}
		return report_unusable(as, "", first == '{' ? "a version 1 ledger (JSON lines): it is never "
					     "appended to; see docs/LEDGER.md \"Upgrading from version 1\""
					     : "not a version 2 ledger segment (bad magic)");
	}
	l2_reader_close(&rd);
	struct replay r = { .as = as };
	char why[256];
	as->replaying = true;
	int rc = l2_walk_fd_blocks(as->cfg->ledger_fd, false, replay_entry, replay_block, &r, &as->ledger.n_ops, why,
				   sizeof(why));
	as->replaying = false;
	if (rc == L2_WALK_UNREADABLE) {
		log_error("ledger read: %s", why);
		return -1;
	}
	if (rc != 0)
		return report_unusable(as, "the live segment cannot be continued: ", rc > 0 ? r.why : why);
	as->confirmed = as->incomplete = as->rejected = 0;
	if (r.sealed && segments_continue_sealed(as) < 0)
		return -1;
	int late = confirm_unrecorded(as);
	if (late < 0)
		return -1;
	log_info("rebuilt from segment %" PRIu32 " (%" PRIu64 " records): %u operations pending", as->ledger.segment,
		 as->ledger.records, as->pending.used);
	if (late)
		log_info("confirmed %d operations the ledger had covered but not yet recorded as confirmed", late);
	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		struct peer *pr = &as->peers[i];
		pr->resyncing = pr->chain.trusted;
		pr->await_journal = pr->chain.trusted && pr->chain.covered_seq < pr->chain.seq;
		pr->await_next_held = false;
	}
	return 0;
}
