/* SPDX-License-Identifier: Apache-2.0 */
/* One version 2 segment checked alone (ledger2_verify.h; the rules are
 * docs/LEDGER.md "What a reader checks", 1 to 7), streamed block by block.
 * The provider chains follow chain.h: a signal's chain is chain_extend's,
 * a checkpoint is accepted by chain_accept_checkpoint over the frame
 * rebuilt from the record and the computed head. */
#define _GNU_SOURCE
#include "ledger2_verify_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "derive.h"
#include "errbuf.h"
#include "sha256.h"

bool l2v_vfail(struct l2v_segment *s, uint64_t record, uint64_t block, uint64_t offset, const char *field,
	       const char *fmt, va_list ap)
{
	if (s->failed)
		return false;
	err_vset(s->why, sizeof(s->why), fmt, ap);
	snprintf(s->field, sizeof(s->field), "%s", field);
	s->failed = true;
	s->bad_record = record;
	s->bad_block = block;
	s->bad_offset = offset;
	return false;
}

bool l2v_check_fail(struct checker *k, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	l2v_vfail(k->s, k->at, k->block_no, k->block_off, field, fmt, ap);
	va_end(ap);
	return false;
}

bool l2v_out_of_memory(struct checker *k)
{
	l2v_check_fail(k, "", "out of memory");
	k->s->unreadable = true;
	return false;
}

static void hex_prefix(const uint8_t *p, char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static bool epoch_known(const struct seg_provider *sp, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	for (size_t i = 0; i < sp->n_known; i++)
		if (memcmp(sp->known[i], epoch, WIRE_EPOCH_LEN) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------- records */

static struct seg_provider *provider_at(struct checker *k, uint8_t p, const char *what)
{
	if (p < k->s->n_providers)
		return &k->prov[p];
	l2v_check_fail(k, "p", "%s of provider %u: the table has %zu", what, p, k->s->n_providers);
	return NULL;
}

/* Signals no checkpoint of theirs will cover any more. */
static void drop_uncovered(struct checker *k, size_t p)
{
	k->s->uncovered += k->s->end[p].n_uncovered;
	k->s->end[p].n_uncovered = 0;
}

static bool signals_record(struct checker *k, struct l2_cursor *c)
{
	struct l2v_segment *s = k->s;
	struct l2_signals_hdr h;
	if (!l2_get_signals_hdr(c, &h))
		return l2v_check_fail(k, "signals", "malformed header");
	struct seg_provider *sp = provider_at(k, h.p, "signals");
	if (!sp)
		return false;
	const char *name = s->names[h.p];
	if (!sp->cs.trusted)
		return l2v_check_fail(k, "p", "signals of %s: no open epoch", name);
	if (h.count == 0)
		return l2v_check_fail(k, "count", "signals of %s: count 0", name);
	if (h.first_pseq != sp->cs.seq + 1)
		return l2v_check_fail(k, "first_pseq", "signals of %s: pseq %" PRIu64 " does not follow its chain's %" PRIu64,
			    name, h.first_pseq, sp->cs.seq);
	struct l2v_chain *end = &s->end[h.p];
	struct signal_frame *f = &sp->frame;
	f->t_ns = h.t_first;
	for (uint16_t i = 0; i < h.count; i++) {
		struct l2_opref ref;
		const uint8_t *value;
		int64_t dt = 0;
		k->at = k->rec + 1;
		if (!l2_get_signal_entry(c, i == 0, &ref, &f->stage, &value, &dt))
			return l2v_check_fail(k, "signals", "signals of %s: signal %u of %u malformed", name, i + 1, h.count);
		uint32_t op = l2v_op_resolve(k, &ref);
		if (op == OP_INDEX_NONE)
			return false;
		if (end->n_uncovered >= sp->checkpoint_every)
			return l2v_check_fail(k, "count", "signals of %s: more than checkpoint_every (%u) uncovered signals", name,
				    sp->checkpoint_every);
		memcpy(f->op, op_index_key(&s->ops, op), WIRE_DIGEST_LEN);
		memcpy(f->value, value, WIRE_DIGEST_LEN);
		f->t_ns += (uint64_t)dt;
		f->seq = h.first_pseq + i;
		chain_extend(sp->cs.head, f);
		sp->cs.seq = f->seq;
		if (!l2v_uncovered_push(k, end, op, f->stage))
			return false;
		k->rec++;
		s->signals++;
	}
	return true;
}

static bool epoch_opened(struct checker *k, uint8_t p, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	struct l2v_segment *s = k->s;
	if (s->n_epochs == s->epochs_cap) {
		size_t cap = s->epochs_cap ? 2 * s->epochs_cap : 16;
		void *grown = reallocarray(s->epochs, cap, sizeof(*s->epochs));
		if (!grown)
			return l2v_out_of_memory(k);
		s->epochs = grown;
		s->epochs_cap = cap;
	}
	struct l2v_epoch *e = &s->epochs[s->n_epochs++];
	e->p = p;
	memcpy(e->epoch, epoch, WIRE_EPOCH_LEN);
	e->record = k->at;
	return l2v_epoch_remember(k, &k->prov[p], epoch);
}

/* Covered: each uncovered signal's stage joins its operation. */
static void cover(struct checker *k, uint8_t p)
{
	struct l2v_segment *s = k->s;
	struct l2v_chain *end = &s->end[p];
	uint64_t bit = UINT64_C(1) << p;
	for (size_t i = 0; i < end->n_uncovered; i++) {
		struct l2v_op *op = &s->op[end->uncovered[i].op];
		if (end->uncovered[i].stage == STAGE_START)
			op->start_mask |= bit;
		else
			op->complete_mask |= bit;
	}
	end->n_uncovered = 0;
}

static bool checkpoint_record(struct checker *k, struct l2_cursor *c)
{
	struct l2_checkpoint_rec cr;
	if (!l2_get_checkpoint(c, &cr))
		return l2v_check_fail(k, "checkpoint", "malformed checkpoint");
	struct seg_provider *sp = provider_at(k, cr.p, "checkpoint");
	if (!sp)
		return false;
	const char *name = k->s->names[cr.p];
	struct checkpoint_frame f;
	memcpy(f.provider, sp->frame.provider, sizeof(f.provider));
	f.seq = cr.pseq;
	memcpy(f.sig, cr.sig, WIRE_SIG_LEN);
	if (cr.opens) {
		if (cr.pseq != 0)
			return l2v_check_fail(k, "pseq", "checkpoint of %s opens an epoch at pseq %" PRIu64 " (not 0)", name, cr.pseq);
		if (epoch_known(sp, cr.epoch))
			return l2v_check_fail(k, "epoch", "checkpoint of %s: epoch opened a second time (a replayed epoch)", name);
		memcpy(f.epoch, cr.epoch, WIRE_EPOCH_LEN);
		derive_chain_origin(cr.epoch, f.head);
	} else {
		if (!sp->cs.trusted)
			return l2v_check_fail(k, "p", "checkpoint of %s: no open epoch to cover", name);
		if (cr.pseq != sp->cs.seq || cr.pseq == 0)
			return l2v_check_fail(k, "pseq", "checkpoint of %s covers pseq %" PRIu64 ", its chain's last is %" PRIu64,
				    name, cr.pseq, sp->cs.seq);
		memcpy(f.epoch, sp->cs.epoch, WIRE_EPOCH_LEN);
		memcpy(f.head, sp->cs.head, WIRE_DIGEST_LEN);
	}
	const char *why = "refused";
	if (!chain_accept_checkpoint(&sp->cs, &f, sp->pk, &why)) {
		if (strcmp(sp->cs.failed_field, "sig") == 0)
			return l2v_check_fail(k, "sig", "checkpoint of %s: signature does not verify with %s's key", name, name);
		return l2v_check_fail(k, sp->cs.failed_field, "checkpoint of %s: %s", name, why);
	}
	k->s->checkpoints++;
	if (cr.opens) {
		drop_uncovered(k, cr.p);
		return epoch_opened(k, cr.p, cr.epoch);
	}
	cover(k, cr.p);
	return true;
}

static bool closed_record(struct checker *k, struct l2_cursor *c, bool confirmed)
{
	struct l2v_segment *s = k->s;
	const char *what = confirmed ? "confirmed" : "incomplete";
	uint16_t count;
	if (!l2_get_u16(c, &count) || count == 0)
		return l2v_check_fail(k, "count", "%s: malformed count", what);
	uint64_t all = l2v_all_providers(s);
	for (uint16_t i = 0; i < count; i++) {
		struct l2_opref ref;
		uint64_t mask;
		k->at = k->rec + 1;
		if (!l2_get_closed_entry(c, &ref, &mask))
			return l2v_check_fail(k, what, "entry %u of %u: malformed", i + 1, count);
		uint32_t idx = l2v_op_resolve(k, &ref);
		if (idx == OP_INDEX_NONE)
			return false;
		struct l2v_op *op = &s->op[idx];
		uint64_t missing = mask & ~(op->start_mask & op->complete_mask);
		unsigned n = (unsigned)__builtin_popcountll(mask);
		bool again = confirmed && (op->flags & L2V_OP_CONFIRMED);
		if ((mask & ~all) || missing || (confirmed && k->o->confirm_k && n < k->o->confirm_k) || again) {
			char hex[17];
			hex_prefix(op_index_key(&s->ops, idx), hex);
			if (mask & ~all)
				return l2v_check_fail(k, "mask", "%s %s...: names a provider beyond the %zu of the table", what, hex,
					    s->n_providers);
			if (missing) {
				int p = __builtin_ctzll(missing);
				bool start = op->start_mask >> p & 1;
				return l2v_check_fail(k, "mask", "%s %s...: provider %s has no covered %s of this operation", what,
					    hex, s->names[p], start ? "COMPLETE" : "START");
			}
			if (!again)
				return l2v_check_fail(k, "mask", "confirmed %s...: names %u providers, but confirm = %u", hex, n,
					    k->o->confirm_k);
			return l2v_check_fail(k, "op", "confirmed %s...: this operation was confirmed before", hex);
		}
		if (confirmed) {
			op->flags |= L2V_OP_CONFIRMED | L2V_OP_CONFIRMED_HERE;
			op->confirmed_at = k->at;
			s->confirmed++;
		} else {
			s->incomplete++;
		}
		k->rec++;
	}
	return true;
}

static bool rejected_record(struct checker *k, struct l2_cursor *c)
{
	uint8_t p;
	if (!l2_get_u8(c, &p))
		return l2v_check_fail(k, "p", "rejected: malformed");
	if (!provider_at(k, p, "rejected"))
		return false;
	size_t len = (size_t)(c->end - c->p);
	if (len < 1 || len > L2_REASON_MAX)
		return l2v_check_fail(k, "reason", "rejected: a reason of %zu bytes (1 to %d)", len, L2_REASON_MAX);
	for (size_t i = 0; i < len; i++)
		if (c->p[i] < 0x20 || c->p[i] > 0x7e)
			return l2v_check_fail(k, "reason", "rejected: byte %zu of the reason is not printable ASCII", i + 1);
	c->p = c->end;
	k->prov[p].cs.trusted = false;
	drop_uncovered(k, p);
	k->s->rejected++;
	return true;
}

static bool head_record(struct checker *k, struct l2_cursor *c, bool first_in_block, bool alone)
{
	struct l2v_segment *s = k->s;
	struct l2_head_rec h;
	if (!l2_get_head(c, &h))
		return l2v_check_fail(k, "head", "malformed head");
	if (!first_in_block)
		return l2v_check_fail(k, "head", "a head that is not the first record of its block");
	if (h.seal && !alone)
		return l2v_check_fail(k, "flags", "a seal that is not alone in its block");
	if (h.covers != k->rec)
		return l2v_check_fail(k, "covers", "head covers record %" PRIu64 ", but the last record before its block is %" PRIu64,
			    h.covers, k->rec);
	if (sodium_memcmp(h.chain, k->chain, WIRE_DIGEST_LEN) != 0)
		return l2v_check_fail(k, "chain", "head: does not match the file chain up to record %" PRIu64, k->rec);
	if (!k->o->association_pk) {
		s->heads_unchecked++;
	} else {
		uint8_t msg[L2_HEAD_MSG_LEN];
		l2_head_message(h.covers, h.chain, msg);
		if (crypto_sign_verify_detached(h.sig, msg, sizeof(msg), k->o->association_pk) != 0)
			return l2v_check_fail(k, "sig", "head: bad signature (it does not verify with the association's key)");
		s->heads++;
		s->last_head.seq = h.covers;
		memcpy(s->last_head.hash, h.chain, WIRE_DIGEST_LEN);
	}
	k->after_seal = h.seal;
	return true;
}

static const char *const type_names[] = {
	[L2_SEGMENT] = "segment", [L2_SIGNALS] = "signals", [L2_CHECKPOINT] = "checkpoint",
	[L2_CONFIRMED] = "confirmed", [L2_INCOMPLETE] = "incomplete", [L2_REJECTED] = "rejected",
	[L2_HEAD] = "head",
};

static bool record(struct checker *k, const struct l2_record *r, bool first_in_block, bool alone)
{
	struct l2_cursor c = { r->payload, r->payload + r->len };
	bool ok;
	k->at = k->rec + 1;
	if (!k->started) {
		if (r->type != L2_SEGMENT || !first_in_block)
			return l2v_check_fail(k, "type", "the segment does not begin with a segment record");
		ok = l2v_segment_record(k, &c);
	} else {
		switch (r->type) {
		case L2_SIGNALS:
			ok = signals_record(k, &c);
			break;
		case L2_CHECKPOINT:
			ok = checkpoint_record(k, &c);
			k->rec += ok;
			break;
		case L2_CONFIRMED:
		case L2_INCOMPLETE:
			ok = closed_record(k, &c, r->type == L2_CONFIRMED);
			break;
		case L2_REJECTED:
			ok = rejected_record(k, &c);
			k->rec += ok;
			break;
		case L2_HEAD:
			ok = head_record(k, &c, first_in_block, alone);
			k->rec += ok;
			break;
		case L2_SEGMENT:
			return l2v_check_fail(k, "type", "a segment record after the segment's first");
		default:
			return l2v_check_fail(k, "type", "unknown record type %u", r->type);
		}
	}
	if (ok && c.p != c.end)
		return l2v_check_fail(k, "len", "%s record: %zu bytes left over", type_names[r->type], (size_t)(c.end - c.p));
	return ok;
}

/* A head kept elsewhere that falls in this block: it must be the chain
 * after the block, at its last record. */
static bool expected_heads(struct checker *k, uint64_t block_first)
{
	const struct l2v_opts *o = k->o;
	for (size_t i = 0; i < o->n_expect && i < 32; i++) {
		const struct ledger_head *e = &o->expect[i];
		if (e->seq < block_first || e->seq > k->rec)
			continue;
		char text[LEDGER_HEAD_TEXT_MAX];
		ledger_head_format(e, text);
		k->at = e->seq;
		if (e->seq != k->rec)
			return l2v_check_fail(k, "covers", "expected head %s: record %" PRIu64 " is not the last of its block "
				    "(no head can cover it)", text, e->seq);
		if (sodium_memcmp(e->hash, k->chain, WIRE_DIGEST_LEN) != 0)
			return l2v_check_fail(k, "chain", "expected head %s: the chain after record %" PRIu64 " differs (the ledger "
				    "was rewritten at or before it)", text, e->seq);
		k->s->expect_found |= UINT32_C(1) << i;
	}
	return true;
}

static bool block(struct checker *k, const struct l2_block *b)
{
	struct l2_cursor body = { b->body, b->body + b->body_len };
	struct l2_record r;
	uint64_t block_first = k->rec + 1;
	bool first = true;
	if (k->after_seal)
		return l2v_check_fail(k, "marker", "a block after the seal");
	while (body.p < body.end) {
		k->at = k->rec + 1;
		if (!l2_record_next(&body, &r))
			return l2v_check_fail(k, "len", "a record runs past the end of its block");
		bool alone = first && body.p == body.end;
		if (!record(k, &r, first, alone))
			return false;
		first = false;
	}
	/* The first block's records are numbered from the segment record it
	 * begins with, which the loop above just read. */
	if (k->s->blocks == 0)
		block_first = k->s->first_record;
	sha256_state st;
	sha256_start(&st);
	sha256_add(&st, k->chain, WIRE_DIGEST_LEN);
	sha256_add(&st, b->start, b->len);
	sha256_end(&st, k->chain);
	k->s->blocks++;
	return expected_heads(k, block_first);
}

static void progress(struct checker *k)
{
	if (k->o->progress && k->r.off > k->progressed) {
		atomic_fetch_add_explicit(k->o->progress, k->r.off - k->progressed, memory_order_relaxed);
		k->progressed = k->r.off;
	}
}

static bool read_blocks(struct checker *k)
{
	struct l2v_segment *s = k->s;
	struct l2_block b;
	int first;
	switch (l2_reader_open(&k->r, k->fd, &first)) {
	case L2_READ_OK:
		break;
	case L2_READ_EOF:
		s->empty = true;
		return true;
	case L2_READ_BAD:
		return l2v_check_fail(k, "magic", "not a version 2 ledger segment (it does not begin with %s)", L2_MAGIC);
	default:
		l2v_check_fail(k, "", "cannot read: %s", strerror(errno));
		s->unreadable = true;
		return false;
	}
	for (;;) {
		enum l2_read_status st = l2_reader_next(&k->r, &b);
		k->at = k->rec + 1;
		k->block_no++;
		k->block_off = st == L2_READ_OK ? k->r.block_off : k->r.off - (k->r.end - k->r.start);
		progress(k);
		switch (st) {
		case L2_READ_OK:
			if (!block(k, &b))
				return false;
			continue;
		case L2_READ_EOF:
			k->block_no--;
			if (!k->started)
				return l2v_check_fail(k, "magic", "no block after the magic");
			return true;
		case L2_READ_TORN:
			return l2v_check_fail(k, "body_len", "the file ends inside this block (a torn tail)");
		case L2_READ_BAD:
			return l2v_check_fail(k, "marker", "not a block (its marker or its body_len)");
		case L2_READ_IO:
			l2v_check_fail(k, "", "cannot read: %s", strerror(errno));
			s->unreadable = true;
			return false;
		}
	}
}

bool l2v_segment_check(int fd, const char *path, const struct l2v_opts *o, struct l2v_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	struct checker *k = calloc(1, sizeof(*k));
	if (!k || op_index_init(&s->ops, WIRE_DIGEST_LEN) < 0) {
		free(k);
		snprintf(s->why, sizeof(s->why), "out of memory");
		s->failed = s->unreadable = true;
		return false;
	}
	k->o = o;
	k->s = s;
	k->fd = fd;
	bool ok = read_blocks(k);
	s->records = k->started ? k->rec - s->first_record + 1 : 0;
	s->last_record = k->rec;
	s->sealed = k->after_seal;
	s->bytes = k->r.off;
	memcpy(s->chain, k->chain, WIRE_DIGEST_LEN);
	for (size_t p = 0; p < s->n_providers; p++) {
		const struct chain_state *cs = &k->prov[p].cs;
		struct l2v_chain *end = &s->end[p];
		end->open = cs->trusted;
		memcpy(end->epoch, cs->epoch, WIRE_EPOCH_LEN);
		end->pseq = cs->seq;
		end->covered = cs->covered_seq;
		memcpy(end->head, cs->head, WIRE_DIGEST_LEN);
		free(k->prov[p].known);
	}
	l2_reader_close(&k->r);
	free(k);
	return ok && !s->failed;
}

void l2v_segment_free(struct l2v_segment *s)
{
	for (size_t p = 0; p < L2_PROVIDERS_MAX; p++) {
		free(s->start[p].uncovered);
		free(s->end[p].uncovered);
	}
	free(s->carried);
	op_index_free(&s->ops);
	free(s->op);
	free(s->refs);
	free(s->epochs);
	memset(s, 0, sizeof(*s));
}
