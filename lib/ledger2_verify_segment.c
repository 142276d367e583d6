/* SPDX-License-Identifier: Apache-2.0 */
/* A segment's start checked and taken as the state its records continue
 * from (docs/LEDGER.md "Records", 1 `segment`): the provider table against
 * the topology and the keys, each provider's stated chain and uncovered
 * signals, the carried operations; and the segment's operation numbering
 * and state lists, which every record of the checker grows
 * (ledger2_verify_internal.h). */
#define _GNU_SOURCE
#include "ledger2_verify_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* --------------------------------------------------------- operations */

uint32_t l2v_op_resolve(struct checker *k, const struct l2_opref *ref)
{
	struct l2v_segment *s = k->s;
	if (!ref->is_new) {
		if (ref->ref >= s->n_refs) {
			l2v_check_fail(k, "ref", "refers to operation %" PRIu64 " back, but the segment has introduced %" PRIu64,
			     ref->ref + 1, s->n_refs);
			return OP_INDEX_NONE;
		}
		return s->refs[s->n_refs - 1 - ref->ref];
	}
	bool added;
	uint32_t i = op_index_add(&s->ops, ref->op, &added);
	if (i == OP_INDEX_NONE) {
		l2v_out_of_memory(k);
		return i;
	}
	if (added && i >= s->op_cap) {
		size_t cap = s->op_cap ? 2 * s->op_cap : 1024;
		struct l2v_op *grown = reallocarray(s->op, cap, sizeof(*grown));
		if (!grown) {
			l2v_out_of_memory(k);
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
			l2v_out_of_memory(k);
			return OP_INDEX_NONE;
		}
		s->refs = grown;
		s->refs_cap = cap;
	}
	s->refs[s->n_refs++] = i;
	return i;
}

bool l2v_uncovered_push(struct checker *k, struct l2v_chain *c, uint32_t op, uint8_t stage)
{
	if (c->n_uncovered == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct l2v_uncovered *grown = reallocarray(c->uncovered, cap, sizeof(*grown));
		if (!grown)
			return l2v_out_of_memory(k);
		c->uncovered = grown;
		c->cap = cap;
	}
	c->uncovered[c->n_uncovered++] = (struct l2v_uncovered){ .op = op, .stage = stage };
	return true;
}

bool l2v_epoch_remember(struct checker *k, struct seg_provider *sp, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	void *grown = reallocarray(sp->known, sp->n_known + 1, sizeof(*sp->known));
	if (!grown)
		return l2v_out_of_memory(k);
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
		return l2v_check_fail(k, "n_providers", "names %u providers, the topology has %zu", h->n_providers,
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
				return l2v_check_fail(k, "name", "%s: not a provider of the topology", name);
			if (o->checkpoint_every)
				sp->checkpoint_every = o->checkpoint_every[t];
		}
		if (!o->pubkey(o->ctx, name, sp->pk))
			return l2v_check_fail(k, "name", "%s: no public key for this provider", name);
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
		return l2v_check_fail(k, "state", "provider %s: malformed state", s->names[p]);
	if (st.covered > st.pseq)
		return l2v_check_fail(k, "covered", "provider %s: covered %" PRIu64 " is beyond pseq %" PRIu64, s->names[p],
			    st.covered, st.pseq);
	if (st.pseq - st.covered > sp->checkpoint_every)
		return l2v_check_fail(k, "covered", "provider %s: %" PRIu64 " uncovered signals, more than checkpoint_every (%u)",
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
			return l2v_check_fail(k, "uncovered", "provider %s: malformed uncovered signal", s->names[p]);
		uint32_t op = l2v_op_resolve(k, &ref);
		if (op == OP_INDEX_NONE || !l2v_uncovered_push(k, start, op, stage) || !l2v_uncovered_push(k, end, op, stage))
			return false;
	}
	if (st.open) {
		sp->cs.trusted = true;
		memcpy(sp->cs.epoch, st.epoch, WIRE_EPOCH_LEN);
		sp->cs.seq = st.pseq;
		sp->cs.covered_seq = st.covered;
		memcpy(sp->cs.head, st.head, WIRE_DIGEST_LEN);
		return l2v_epoch_remember(k, sp, st.epoch);
	}
	return true;
}

static bool carried_ops(struct checker *k, struct l2_cursor *c)
{
	struct l2v_segment *s = k->s;
	uint32_t n;
	if (!l2_get_u32(c, &n))
		return l2v_check_fail(k, "carried", "malformed count");
	uint64_t all = l2v_all_providers(s);
	for (uint32_t i = 0; i < n; i++) {
		struct l2_opref ref;
		struct l2v_carried e;
		if (!l2_get_carried_entry(c, &ref, &e.confirmed, &e.start_mask, &e.complete_mask))
			return l2v_check_fail(k, "carried", "entry %u of %u: malformed", i + 1, n);
		if ((e.start_mask | e.complete_mask) & ~all)
			return l2v_check_fail(k, "carried", "entry %u: a mask names a provider beyond the %zu of the table", i + 1,
				    s->n_providers);
		e.op = l2v_op_resolve(k, &ref);
		if (e.op == OP_INDEX_NONE)
			return false;
		struct l2v_op *op = &s->op[e.op];
		if (op->flags || op->start_mask || op->complete_mask)
			return l2v_check_fail(k, "carried", "entry %u: operation carried twice", i + 1);
		if (e.confirmed)
			op->flags |= L2V_OP_CONFIRMED;
		op->start_mask = e.start_mask;
		op->complete_mask = e.complete_mask;
		if (s->n_carried % 1024 == 0) {
			void *grown = reallocarray(s->carried, s->n_carried + 1024, sizeof(*s->carried));
			if (!grown)
				return l2v_out_of_memory(k);
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
			return l2v_check_fail(k, "state", "segment 1 states provider %s's chain already started", s->names[p]);
	if (s->n_carried)
		return l2v_check_fail(k, "carried", "segment 1 carries %zu operations", s->n_carried);
	return true;
}

bool l2v_segment_record(struct checker *k, struct l2_cursor *c)
{
	struct l2v_segment *s = k->s;
	struct l2_segment_hdr h;
	if (!l2_get_segment_hdr(c, &h))
		return l2v_check_fail(k, "segment", "malformed segment record (version, number 0, record 0, or its "
			    "provider table: 1 to %d unique valid names)", L2_PROVIDERS_MAX);
	s->segment = h.segment;
	s->first_record = h.first_record;
	k->at = h.first_record;
	memcpy(s->prev, h.prev, WIRE_DIGEST_LEN);
	memcpy(k->chain, h.prev, WIRE_DIGEST_LEN);
	if (h.segment == 1 && (h.first_record != 1 || !sodium_is_zero(h.prev, WIRE_DIGEST_LEN)))
		return l2v_check_fail(k, h.first_record != 1 ? "first_record" : "prev",
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

