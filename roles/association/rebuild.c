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
#include "../../lib/sha256.h"
#include "association_internal.h"

/* The operation ids the segment introduced, by number. */
struct op_table {
	uint8_t (*ids)[WIRE_DIGEST_LEN];
	size_t n, cap;
};

struct replay {
	struct association *as;
	struct op_table ops;
	bool sealed;   /* the last record read was the segment's seal */
	char why[256];
};

static bool fail(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct replay *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return false;
}

/* The id an entry names: a new one joins the table. */
static const uint8_t *op_resolve(struct replay *r, const struct l2_opref *ref)
{
	struct op_table *t = &r->ops;
	if (!ref->is_new)
		return ref->ref < t->n ? t->ids[t->n - 1 - ref->ref] : NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4096;
		void *ids = reallocarray(t->ids, cap, sizeof(*t->ids));
		if (!ids)
			return NULL;
		t->ids = ids;
		t->cap = cap;
	}
	memcpy(t->ids[t->n], ref->op, WIRE_DIGEST_LEN);
	return t->ids[t->n++];
}

static bool restore_state(struct replay *r, size_t i, struct l2_cursor *c)
{
	struct peer *pr = &r->as->peers[i];
	struct l2_state st;
	if (!l2_get_state(c, &st))
		return fail(r, "segment record: provider %s: malformed state", pr->cfg->name);
	chain_init(&pr->chain);
	pr->queued = 0;
	if (!st.open)
		return true;
	if (st.pseq - st.covered > pr->cfg->checkpoint_every)
		return fail(r, "segment record: provider %s: %" PRIu64 " uncovered signals, more than checkpoint_every",
			    pr->cfg->name, st.pseq - st.covered);
	pr->chain.trusted = true;
	memcpy(pr->chain.epoch, st.epoch, WIRE_EPOCH_LEN);
	memcpy(pr->chain.head, st.head, WIRE_DIGEST_LEN);
	pr->chain.seq = st.pseq;
	pr->chain.covered_seq = st.covered;
	pr->recent_from = st.pseq + 1;
	for (uint64_t k = 0; k < st.pseq - st.covered; k++) {
		struct l2_opref ref;
		struct l2_uncovered *u = &pr->queue[pr->queued];
		const uint8_t *op;
		if (!l2_get_uncovered_entry(c, &ref, &u->stage) || !(op = op_resolve(r, &ref)))
			return fail(r, "segment record: provider %s: malformed uncovered signal", pr->cfg->name);
		memcpy(u->op, op, WIRE_DIGEST_LEN);
		pr->queued++;
	}
	return true;
}

/* An open operation as the segment carried it, back in the pending table. */
static bool restore_carried(struct replay *r, const uint8_t *op, bool confirmed, uint64_t start, uint64_t complete)
{
	struct association *as = r->as;
	struct pending_op *e = NULL;
	uint64_t now_ms = clock_mono_ms();
	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		uint8_t have = (uint8_t)(((start >> i) & 1) * STAGE_START | ((complete >> i) & 1) * STAGE_COMPLETE);
		if (!have)
			continue;
		e = pending_admit(&as->pending, op, i, now_ms, NULL, NULL);
		if (!e)
			return true; /* at its quota: not tracked, as it would not have been */
		e->have[i] |= have;
		e->complete += e->have[i] == STAGES_BOTH;
	}
	if (e)
		e->confirmed = e->recorded = confirmed;
	return true;
}

static bool replay_segment(struct replay *r, struct l2_cursor *c)
{
	struct association *as = r->as;
	struct l2_segment_hdr h;
	if (!l2_get_segment_hdr(c, &h))
		return fail(r, "segment record: malformed");
	if (h.n_providers != as->cfg->n_providers)
		return fail(r, "the live segment names %u providers, the topology %zu", h.n_providers,
			    as->cfg->n_providers);
	for (size_t i = 0; i < h.n_providers; i++)
		if (strcmp(h.names[i], as->cfg->providers[i].name) != 0)
			return fail(r, "the live segment's provider %zu is %s, the topology's %s", i + 1, h.names[i],
				    as->cfg->providers[i].name);
	for (size_t i = 0; i < h.n_providers; i++)
		if (!restore_state(r, i, c))
			return false;
	uint32_t n;
	if (!l2_get_u32(c, &n))
		return fail(r, "segment record: malformed carried count");
	for (uint32_t k = 0; k < n; k++) {
		struct l2_opref ref;
		bool confirmed;
		uint64_t start, complete;
		const uint8_t *op;
		if (!l2_get_carried_entry(c, &ref, &confirmed, &start, &complete) || !(op = op_resolve(r, &ref)))
			return fail(r, "segment record: malformed carried operation %" PRIu32, k + 1);
		if (!restore_carried(r, op, confirmed, start, complete))
			return false;
	}
	if (c->p != c->end)
		return fail(r, "segment record: trailing bytes");
	as->ledger.segment = h.segment;
	as->ledger.records = h.first_record;
	memcpy(as->ledger.chain, h.prev, WIRE_DIGEST_LEN);
	return true;
}

static bool provider_ok(struct replay *r, uint8_t p)
{
	return p < r->as->cfg->n_providers || fail(r, "provider index %u out of range", p);
}

static bool replay_signals(struct replay *r, struct l2_cursor *c)
{
	struct l2_signals_hdr h;
	if (!l2_get_signals_hdr(c, &h) || !provider_ok(r, h.p))
		return fail(r, "signals record: malformed");
	struct peer *pr = &r->as->peers[h.p];
	struct signal_frame s = { .t_ns = h.t_first };
	snprintf(s.provider, sizeof(s.provider), "%s", pr->cfg->name);
	for (uint16_t i = 0; i < h.count; i++) {
		struct l2_opref ref;
		const uint8_t *value, *op;
		int64_t dt;
		if (!l2_get_signal_entry(c, i == 0, &ref, &s.stage, &value, &dt) || !(op = op_resolve(r, &ref)))
			return fail(r, "signals record: malformed signal %u", i + 1);
		memcpy(s.op, op, WIRE_DIGEST_LEN);
		memcpy(s.value, value, WIRE_DIGEST_LEN);
		s.t_ns += (uint64_t)dt;
		s.seq = h.first_pseq + i;
		uint8_t head[WIRE_DIGEST_LEN];
		memcpy(head, pr->chain.head, WIRE_DIGEST_LEN);
		chain_extend(head, &s);
		if (peer_on_signal(r->as, h.p, &s) < 0)
			return fail(r, "signals record: provider %s pseq %" PRIu64 ": cannot replay", pr->cfg->name, s.seq);
		/* Everything here was accepted once: a signal that is not now is
		 * an altered file, never a provider's fault. */
		if (!pr->chain.trusted || pr->chain.seq != s.seq)
			return fail(r, "signals record: provider %s pseq %" PRIu64 " does not extend its chain",
				    pr->cfg->name, s.seq);
		r->as->ledger.records++;
	}
	return c->p == c->end || fail(r, "signals record: trailing bytes");
}

static bool replay_checkpoint(struct replay *r, struct l2_cursor *c)
{
	struct l2_checkpoint_rec k;
	if (!l2_get_checkpoint(c, &k) || !provider_ok(r, k.p) || c->p != c->end)
		return fail(r, "checkpoint record: malformed");
	struct peer *pr = &r->as->peers[k.p];
	struct checkpoint_frame f = { .seq = k.pseq };
	snprintf(f.provider, sizeof(f.provider), "%s", pr->cfg->name);
	memcpy(f.epoch, k.opens ? k.epoch : pr->chain.epoch, WIRE_EPOCH_LEN);
	if (k.opens)
		derive_chain_origin(f.epoch, f.head);
	else
		memcpy(f.head, pr->chain.head, WIRE_DIGEST_LEN);
	memcpy(f.sig, k.sig, WIRE_SIG_LEN);
	if (peer_on_checkpoint(r->as, k.p, &f) < 0)
		return fail(r, "checkpoint record: provider %s: cannot replay", pr->cfg->name);
	if (!pr->chain.trusted || pr->chain.covered_seq != k.pseq || pr->chain.seq != k.pseq)
		return fail(r, "checkpoint record: provider %s pseq %" PRIu64 " does not verify", pr->cfg->name, k.pseq);
	r->as->ledger.records++;
	return true;
}

/* A confirmed or incomplete record: what it closed is closed. */
static bool replay_closed(struct replay *r, struct l2_cursor *c, bool confirmed)
{
	struct association *as = r->as;
	uint16_t count;
	if (!l2_get_u16(c, &count) || count == 0)
		return fail(r, "closed record: malformed");
	for (uint16_t i = 0; i < count; i++) {
		struct l2_opref ref;
		uint64_t mask;
		const uint8_t *op;
		if (!l2_get_closed_entry(c, &ref, &mask) || !(op = op_resolve(r, &ref)))
			return fail(r, "closed record: malformed entry %u", i + 1);
		as->ledger.records++;
		struct pending_op *e = pending_find(&as->pending, op);
		if (!e)
			continue;
		if (confirmed) {
			e->confirmed = e->recorded = true;
			if (e->complete < as->cfg->n_providers)
				continue; /* K of N: it absorbs late signals until it ages out */
		}
		pending_remove(&as->pending, e);
	}
	return c->p == c->end || fail(r, "closed record: trailing bytes");
}

/* A rejection ended that provider's epoch, as the verifier reads it. */
static bool replay_rejected(struct replay *r, struct l2_cursor *c)
{
	uint8_t p;
	if (!l2_get_u8(c, &p) || !provider_ok(r, p))
		return fail(r, "rejected record: malformed");
	r->as->peers[p].chain.trusted = false;
	r->as->peers[p].queued = 0;
	r->as->ledger.records++;
	return true;
}

static bool replay_head(struct replay *r, struct l2_cursor *c)
{
	struct l2_head_rec h;
	if (!l2_get_head(c, &h) || c->p != c->end)
		return fail(r, "head record: malformed");
	if (h.covers != r->as->ledger.records || memcmp(h.chain, r->as->ledger.chain, WIRE_DIGEST_LEN) != 0)
		return fail(r, "head record: the chain it signs is not the chain of the blocks before it");
	r->sealed = h.seal;
	r->as->last_head.seq = h.covers;
	memcpy(r->as->last_head.hash, h.chain, WIRE_DIGEST_LEN);
	r->as->ledger.records++;
	return true;
}

static bool replay_record(struct replay *r, const struct l2_record *rec, bool first)
{
	struct l2_cursor c = { rec->payload, rec->payload + rec->len };
	if (r->sealed)
		return fail(r, "a record after the segment's seal");
	if (first != (rec->type == L2_SEGMENT))
		return fail(r, first ? "the segment does not begin with its segment record"
				     : "a segment record inside the segment");
	switch (rec->type) {
	case L2_SEGMENT: return replay_segment(r, &c);
	case L2_SIGNALS: return replay_signals(r, &c);
	case L2_CHECKPOINT: return replay_checkpoint(r, &c);
	case L2_CONFIRMED: return replay_closed(r, &c, true);
	case L2_INCOMPLETE: return replay_closed(r, &c, false);
	case L2_REJECTED: return replay_rejected(r, &c);
	case L2_HEAD: return replay_head(r, &c);
	default: return fail(r, "unknown record type %u", rec->type);
	}
}

/* Every block of the live segment, its chain followed; the writer ends
 * where the file does. */
static bool replay_blocks(struct replay *r, struct l2_reader *rd)
{
	struct l2_writer *w = &r->as->ledger;
	struct l2_block b;
	enum l2_read_status st;
	while ((st = l2_reader_next(rd, &b)) == L2_READ_OK) {
		struct l2_cursor body = { b.body, b.body + b.body_len };
		struct l2_record rec;
		bool first = rd->blocks == 1;
		while (body.p != body.end) {
			if (!l2_record_next(&body, &rec))
				return fail(r, "block %" PRIu64 " (offset %" PRIu64 "): a record overruns it", rd->blocks,
					    rd->block_off);
			if (!replay_record(r, &rec, first)) {
				char what[sizeof(r->why)]; /* r->why is also where the message goes */
				memcpy(what, r->why, sizeof(what));
				return fail(r, "block %" PRIu64 " (offset %" PRIu64 "): %.180s", rd->blocks,
					    rd->block_off, what);
			}
			first = false;
		}
		sha256_state sh;
		sha256_start(&sh);
		sha256_add(&sh, w->chain, WIRE_DIGEST_LEN);
		sha256_add(&sh, b.start, b.len);
		sha256_end(&sh, w->chain);
		w->seg_bytes = rd->block_off + b.len;
		if (!w->seg_t0)
			w->seg_t0 = b.t;
	}
	if (st == L2_READ_EOF && rd->blocks > 0)
		return true;
	if (st == L2_READ_IO)
		return fail(r, "read: %s", strerror(errno));
	return fail(r, "%s at offset %" PRIu64, st == L2_READ_EOF ? "no block after the magic"
					   : st == L2_READ_TORN ? "a torn block" : "bytes that are not a block",
		    rd->off - (rd->end - rd->start));
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
	struct replay r = { .as = as };
	as->replaying = true;
	bool ok = replay_blocks(&r, &rd);
	as->replaying = false;
	as->ledger.n_ops = r.ops.n;
	free(r.ops.ids);
	l2_reader_close(&rd);
	if (!ok)
		return report_unusable(as, "the live segment cannot be continued: ", r.why);
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
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		as->peers[i].resyncing = as->peers[i].chain.trusted;
	return 0;
}
