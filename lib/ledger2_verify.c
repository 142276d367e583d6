/* SPDX-License-Identifier: Apache-2.0 */
/* One version 2 segment checked alone (ledger2_verify.h; the rules are
 * docs/LEDGER.md "What a reader checks", 1 to 7), streamed block by block.
 * The provider chains follow chain.h: a signal's chain is chain_extend's,
 * a checkpoint is accepted by chain_accept_checkpoint over the frame
 * rebuilt from the record and the computed head. */
#define _GNU_SOURCE
#include "ledger2_verify.h"

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

struct seg_provider {
	struct chain_state cs;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint32_t checkpoint_every;
	struct signal_frame frame;           /* its name set once */
	uint8_t (*known)[WIRE_EPOCH_LEN];    /* epochs it is known to have opened */
	size_t n_known;
};

struct checker {
	const struct l2v_opts *o;
	struct l2v_segment *s;
	int fd;
	struct l2_reader r;
	uint64_t block_no;    /* of the block being read, from 1 */
	uint64_t block_off;   /* its offset */
	uint64_t progressed;  /* bytes reported to opts->progress */
	struct seg_provider prov[L2_PROVIDERS_MAX];
	uint64_t rec;         /* number of the last record taken */
	uint64_t at;          /* number of the record being checked (failures) */
	uint8_t chain[WIRE_DIGEST_LEN];
	bool started;         /* the segment record was read */
	bool after_seal;
};

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

static bool fail(struct checker *k, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(struct checker *k, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	l2v_vfail(k->s, k->at, k->block_no, k->block_off, field, fmt, ap);
	va_end(ap);
	return false;
}

static bool out_of_memory(struct checker *k)
{
	fail(k, "", "out of memory");
	k->s->unreadable = true;
	return false;
}

static void hex_prefix(const uint8_t *p, char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* --------------------------------------------------------- operations */

/* The index of an operation a record names: a new id joins the segment's
 * numbering (and its index, once per distinct id). OP_INDEX_NONE on failure. */
static uint32_t op_resolve(struct checker *k, const struct l2_opref *ref)
{
	struct l2v_segment *s = k->s;
	if (!ref->is_new) {
		if (ref->ref >= s->n_refs) {
			fail(k, "ref", "refers to operation %" PRIu64 " back, but the segment has introduced %" PRIu64,
			     ref->ref + 1, s->n_refs);
			return OP_INDEX_NONE;
		}
		return s->refs[s->n_refs - 1 - ref->ref];
	}
	bool added;
	uint32_t i = op_index_add(&s->ops, ref->op, &added);
	if (i == OP_INDEX_NONE) {
		out_of_memory(k);
		return i;
	}
	if (added && i >= s->op_cap) {
		size_t cap = s->op_cap ? 2 * s->op_cap : 1024;
		struct l2v_op *grown = reallocarray(s->op, cap, sizeof(*grown));
		if (!grown) {
			out_of_memory(k);
			return OP_INDEX_NONE;
		}
		s->op = grown;
		s->op_cap = cap;
	}
	if (added)
		memset(&s->op[i], 0, sizeof(s->op[i]));
	if (s->n_refs == s->refs_cap) {
		uint64_t cap = s->refs_cap ? 2 * s->refs_cap : 1024;
		uint32_t *grown = reallocarray(s->refs, cap, sizeof(*grown));
		if (!grown) {
			out_of_memory(k);
			return OP_INDEX_NONE;
		}
		s->refs = grown;
		s->refs_cap = cap;
	}
	s->refs[s->n_refs++] = i;
	return i;
}

static bool uncovered_push(struct checker *k, struct l2v_chain *c, uint32_t op, uint8_t stage)
{
	if (c->n_uncovered == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct l2v_uncovered *grown = reallocarray(c->uncovered, cap, sizeof(*grown));
		if (!grown)
			return out_of_memory(k);
		c->uncovered = grown;
		c->cap = cap;
	}
	c->uncovered[c->n_uncovered++] = (struct l2v_uncovered){ .op = op, .stage = stage };
	return true;
}

static bool epoch_known(const struct seg_provider *sp, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	for (size_t i = 0; i < sp->n_known; i++)
		if (memcmp(sp->known[i], epoch, WIRE_EPOCH_LEN) == 0)
			return true;
	return false;
}

static bool epoch_remember(struct checker *k, struct seg_provider *sp, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	void *grown = reallocarray(sp->known, sp->n_known + 1, sizeof(*sp->known));
	if (!grown)
		return out_of_memory(k);
	sp->known = grown;
	memcpy(sp->known[sp->n_known++], epoch, WIRE_EPOCH_LEN);
	return true;
}

/* ------------------------------------------------------ segment record */

static bool provider_table(struct checker *k, const struct l2_segment_hdr *h)
{
	struct l2v_segment *s = k->s;
	const struct l2v_opts *o = k->o;
	if (o->n_providers && h->n_providers != o->n_providers)
		return fail(k, "n_providers", "names %u providers, the topology has %zu", h->n_providers,
			    o->n_providers);
	s->n_providers = h->n_providers;
	for (size_t p = 0; p < s->n_providers; p++) {
		const char *name = h->names[p];
		snprintf(s->names[p], sizeof(s->names[p]), "%s", name);
		struct seg_provider *sp = &k->prov[p];
		sp->checkpoint_every = L2V_CHECKPOINT_EVERY_MAX;
		if (o->n_providers) {
			size_t t = 0;
			while (t < o->n_providers && strcmp(o->providers[t], name) != 0)
				t++;
			if (t == o->n_providers)
				return fail(k, "name", "%s: not a provider of the topology", name);
			if (o->checkpoint_every)
				sp->checkpoint_every = o->checkpoint_every[t];
		}
		if (!o->pubkey(o->ctx, name, sp->pk))
			return fail(k, "name", "%s: no public key for this provider", name);
		chain_init(&sp->cs);
		snprintf(sp->frame.provider, sizeof(sp->frame.provider), "%s", name);
	}
	return true;
}

static bool provider_state(struct checker *k, struct l2_cursor *c, size_t p)
{
	struct l2v_segment *s = k->s;
	struct seg_provider *sp = &k->prov[p];
	struct l2_state st;
	if (!l2_get_state(c, &st))
		return fail(k, "state", "provider %s: malformed state", s->names[p]);
	if (st.covered > st.pseq)
		return fail(k, "covered", "provider %s: covered %" PRIu64 " is beyond pseq %" PRIu64, s->names[p],
			    st.covered, st.pseq);
	if (st.pseq - st.covered > sp->checkpoint_every)
		return fail(k, "covered", "provider %s: %" PRIu64 " uncovered signals, more than checkpoint_every (%u)",
			    s->names[p], st.pseq - st.covered, sp->checkpoint_every);
	struct l2v_chain *start = &s->start[p], *end = &s->end[p];
	start->open = st.open;
	memcpy(start->epoch, st.epoch, WIRE_EPOCH_LEN);
	start->pseq = st.pseq;
	start->covered = st.covered;
	memcpy(start->head, st.head, WIRE_DIGEST_LEN);
	for (uint64_t i = st.covered; i < st.pseq; i++) {
		struct l2_opref ref;
		uint8_t stage;
		if (!l2_get_uncovered_entry(c, &ref, &stage))
			return fail(k, "uncovered", "provider %s: malformed uncovered signal", s->names[p]);
		uint32_t op = op_resolve(k, &ref);
		if (op == OP_INDEX_NONE || !uncovered_push(k, start, op, stage) || !uncovered_push(k, end, op, stage))
			return false;
	}
	if (st.open) {
		sp->cs.trusted = true;
		memcpy(sp->cs.epoch, st.epoch, WIRE_EPOCH_LEN);
		sp->cs.seq = st.pseq;
		sp->cs.covered_seq = st.covered;
		memcpy(sp->cs.head, st.head, WIRE_DIGEST_LEN);
		return epoch_remember(k, sp, st.epoch);
	}
	return true;
}

static bool carried_ops(struct checker *k, struct l2_cursor *c)
{
	struct l2v_segment *s = k->s;
	uint32_t n;
	if (!l2_get_u32(c, &n))
		return fail(k, "carried", "malformed count");
	uint64_t all = s->n_providers == 64 ? UINT64_MAX : (UINT64_C(1) << s->n_providers) - 1;
	for (uint32_t i = 0; i < n; i++) {
		struct l2_opref ref;
		struct l2v_carried e;
		if (!l2_get_carried_entry(c, &ref, &e.confirmed, &e.start_mask, &e.complete_mask))
			return fail(k, "carried", "entry %u of %u: malformed", i + 1, n);
		if ((e.start_mask | e.complete_mask) & ~all)
			return fail(k, "carried", "entry %u: a mask names a provider beyond the %zu of the table", i + 1,
				    s->n_providers);
		e.op = op_resolve(k, &ref);
		if (e.op == OP_INDEX_NONE)
			return false;
		struct l2v_op *op = &s->op[e.op];
		if (op->flags || op->start_mask || op->complete_mask)
			return fail(k, "carried", "entry %u: operation carried twice", i + 1);
		if (e.confirmed)
			op->flags |= L2V_OP_CONFIRMED;
		op->start_mask = e.start_mask;
		op->complete_mask = e.complete_mask;
		if (s->n_carried % 1024 == 0) {
			void *grown = reallocarray(s->carried, s->n_carried + 1024, sizeof(*s->carried));
			if (!grown)
				return out_of_memory(k);
			s->carried = grown;
		}
		s->carried[s->n_carried++] = e;
	}
	return true;
}

/* The segment's first: nothing open, nothing carried. */
static bool first_segment_empty(struct checker *k)
{
	struct l2v_segment *s = k->s;
	k->at = s->first_record;
	for (size_t p = 0; p < s->n_providers; p++)
		if (s->start[p].open || s->start[p].pseq)
			return fail(k, "state", "segment 1 states provider %s's chain already started", s->names[p]);
	if (s->n_carried)
		return fail(k, "carried", "segment 1 carries %zu operations", s->n_carried);
	return true;
}

static bool segment_record(struct checker *k, struct l2_cursor *c)
{
	struct l2v_segment *s = k->s;
	struct l2_segment_hdr h;
	if (!l2_get_segment_hdr(c, &h))
		return fail(k, "segment", "malformed segment record (version, number 0, record 0, or its "
			    "provider table: 1 to %d unique valid names)", L2_PROVIDERS_MAX);
	s->segment = h.segment;
	s->first_record = h.first_record;
	k->at = h.first_record;
	memcpy(s->prev, h.prev, WIRE_DIGEST_LEN);
	memcpy(k->chain, h.prev, WIRE_DIGEST_LEN);
	if (h.segment == 1 && (h.first_record != 1 || !sodium_is_zero(h.prev, WIRE_DIGEST_LEN)))
		return fail(k, h.first_record != 1 ? "first_record" : "prev",
			    "segment 1 starts at record 1 from a zero prev");
	if (!provider_table(k, &h))
		return false;
	for (size_t p = 0; p < s->n_providers; p++)
		if (!provider_state(k, c, p))
			return false;
	if (!carried_ops(k, c))
		return false;
	k->rec = h.first_record;
	k->started = true;
	return h.segment != 1 || first_segment_empty(k);
}

/* ------------------------------------------------------------- records */

static struct seg_provider *provider_at(struct checker *k, uint8_t p, const char *what)
{
	if (p < k->s->n_providers)
		return &k->prov[p];
	fail(k, "p", "%s of provider %u: the table has %zu", what, p, k->s->n_providers);
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
		return fail(k, "signals", "malformed header");
	struct seg_provider *sp = provider_at(k, h.p, "signals");
	if (!sp)
		return false;
	const char *name = s->names[h.p];
	if (!sp->cs.trusted)
		return fail(k, "p", "signals of %s: no open epoch", name);
	if (h.count == 0)
		return fail(k, "count", "signals of %s: count 0", name);
	if (h.first_pseq != sp->cs.seq + 1)
		return fail(k, "first_pseq", "signals of %s: pseq %" PRIu64 " does not follow its chain's %" PRIu64,
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
			return fail(k, "signals", "signals of %s: signal %u of %u malformed", name, i + 1, h.count);
		uint32_t op = op_resolve(k, &ref);
		if (op == OP_INDEX_NONE)
			return false;
		if (end->n_uncovered >= sp->checkpoint_every)
			return fail(k, "count", "signals of %s: more than checkpoint_every (%u) uncovered signals", name,
				    sp->checkpoint_every);
		memcpy(f->op, op_index_key(&s->ops, op), WIRE_DIGEST_LEN);
		memcpy(f->value, value, WIRE_DIGEST_LEN);
		f->t_ns += (uint64_t)dt;
		f->seq = h.first_pseq + i;
		chain_extend(sp->cs.head, f);
		sp->cs.seq = f->seq;
		if (!uncovered_push(k, end, op, f->stage))
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
			return out_of_memory(k);
		s->epochs = grown;
		s->epochs_cap = cap;
	}
	struct l2v_epoch *e = &s->epochs[s->n_epochs++];
	e->p = p;
	memcpy(e->epoch, epoch, WIRE_EPOCH_LEN);
	e->record = k->at;
	return epoch_remember(k, &k->prov[p], epoch);
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
		return fail(k, "checkpoint", "malformed checkpoint");
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
			return fail(k, "pseq", "checkpoint of %s opens an epoch at pseq %" PRIu64 " (not 0)", name, cr.pseq);
		if (epoch_known(sp, cr.epoch))
			return fail(k, "epoch", "checkpoint of %s: epoch opened a second time (a replayed epoch)", name);
		memcpy(f.epoch, cr.epoch, WIRE_EPOCH_LEN);
		derive_chain_origin(cr.epoch, f.head);
	} else {
		if (!sp->cs.trusted)
			return fail(k, "p", "checkpoint of %s: no open epoch to cover", name);
		if (cr.pseq != sp->cs.seq || cr.pseq == 0)
			return fail(k, "pseq", "checkpoint of %s covers pseq %" PRIu64 ", its chain's last is %" PRIu64,
				    name, cr.pseq, sp->cs.seq);
		memcpy(f.epoch, sp->cs.epoch, WIRE_EPOCH_LEN);
		memcpy(f.head, sp->cs.head, WIRE_DIGEST_LEN);
	}
	const char *why = "refused";
	if (!chain_accept_checkpoint(&sp->cs, &f, sp->pk, &why)) {
		if (strcmp(sp->cs.failed_field, "sig") == 0)
			return fail(k, "sig", "checkpoint of %s: signature does not verify with %s's key", name, name);
		return fail(k, sp->cs.failed_field, "checkpoint of %s: %s", name, why);
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
		return fail(k, "count", "%s: malformed count", what);
	uint64_t all = s->n_providers == 64 ? UINT64_MAX : (UINT64_C(1) << s->n_providers) - 1;
	for (uint16_t i = 0; i < count; i++) {
		struct l2_opref ref;
		uint64_t mask;
		k->at = k->rec + 1;
		if (!l2_get_closed_entry(c, &ref, &mask))
			return fail(k, what, "entry %u of %u: malformed", i + 1, count);
		uint32_t idx = op_resolve(k, &ref);
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
				return fail(k, "mask", "%s %s...: names a provider beyond the %zu of the table", what, hex,
					    s->n_providers);
			if (missing) {
				int p = __builtin_ctzll(missing);
				bool start = op->start_mask >> p & 1;
				return fail(k, "mask", "%s %s...: provider %s has no covered %s of this operation", what,
					    hex, s->names[p], start ? "COMPLETE" : "START");
			}
			if (!again)
				return fail(k, "mask", "confirmed %s...: names %u providers, but confirm = %u", hex, n,
					    k->o->confirm_k);
			return fail(k, "op", "confirmed %s...: this operation was confirmed before", hex);
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
		return fail(k, "p", "rejected: malformed");
	if (!provider_at(k, p, "rejected"))
		return false;
	size_t len = (size_t)(c->end - c->p);
	if (len < 1 || len > L2_REASON_MAX)
		return fail(k, "reason", "rejected: a reason of %zu bytes (1 to %d)", len, L2_REASON_MAX);
	for (size_t i = 0; i < len; i++)
		if (c->p[i] < 0x20 || c->p[i] > 0x7e)
			return fail(k, "reason", "rejected: byte %zu of the reason is not printable ASCII", i + 1);
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
		return fail(k, "head", "malformed head");
	if (!first_in_block)
		return fail(k, "head", "a head that is not the first record of its block");
	if (h.seal && !alone)
		return fail(k, "flags", "a seal that is not alone in its block");
	if (h.covers != k->rec)
		return fail(k, "covers", "head covers record %" PRIu64 ", but the last record before its block is %" PRIu64,
			    h.covers, k->rec);
	if (sodium_memcmp(h.chain, k->chain, WIRE_DIGEST_LEN) != 0)
		return fail(k, "chain", "head: does not match the file chain up to record %" PRIu64, k->rec);
	if (!k->o->association_pk) {
		s->heads_unchecked++;
	} else {
		uint8_t msg[L2_HEAD_MSG_LEN];
		l2_head_message(h.covers, h.chain, msg);
		if (crypto_sign_verify_detached(h.sig, msg, sizeof(msg), k->o->association_pk) != 0)
			return fail(k, "sig", "head: bad signature (it does not verify with the association's key)");
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
			return fail(k, "type", "the segment does not begin with a segment record");
		ok = segment_record(k, &c);
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
			return fail(k, "type", "a segment record after the segment's first");
		default:
			return fail(k, "type", "unknown record type %u", r->type);
		}
	}
	if (ok && c.p != c.end)
		return fail(k, "len", "%s record: %zu bytes left over", type_names[r->type], (size_t)(c.end - c.p));
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
			return fail(k, "covers", "expected head %s: record %" PRIu64 " is not the last of its block "
				    "(no head can cover it)", text, e->seq);
		if (sodium_memcmp(e->hash, k->chain, WIRE_DIGEST_LEN) != 0)
			return fail(k, "chain", "expected head %s: the chain after record %" PRIu64 " differs (the ledger "
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
		return fail(k, "marker", "a block after the seal");
	while (body.p < body.end) {
		k->at = k->rec + 1;
		if (!l2_record_next(&body, &r))
			return fail(k, "len", "a record runs past the end of its block");
		bool alone = first && body.p == body.end;
		if (!record(k, &r, first, alone))
			return false;
		first = false;
	}
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
		return fail(k, "magic", "not a version 2 ledger segment (it does not begin with %s)", L2_MAGIC);
	default:
		fail(k, "", "cannot read: %s", strerror(errno));
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
				return fail(k, "magic", "no block after the magic");
			return true;
		case L2_READ_TORN:
			return fail(k, "body_len", "the file ends inside this block (a torn tail)");
		case L2_READ_BAD:
			return fail(k, "marker", "not a block (its marker or its body_len)");
		case L2_READ_IO:
			fail(k, "", "cannot read: %s", strerror(errno));
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
