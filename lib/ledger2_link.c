/* SPDX-License-Identifier: Apache-2.0 */
/* Segments joined into one ledger (ledger2_verify.h): rule 8 of
 * docs/LEDGER.md (a segment starts exactly where the one before it ended)
 * and what must hold across every segment present: no provider opens an
 * epoch twice, no operation is confirmed twice. */
#define _GNU_SOURCE
#include "ledger2_verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "errbuf.h"

/* A failure of segment s about its record `record` (block 1 when it is
 * about the segment record). */
static bool fail_at(struct l2v_segment *s, uint64_t record, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool fail_at(struct l2v_segment *s, uint64_t record, const char *field, const char *fmt, ...)
{
	bool first = record == s->first_record;
	va_list ap;
	va_start(ap, fmt);
	l2v_vfail(s, record, first ? 1 : 0, first ? L2_MAGIC_LEN : 0, field, fmt, ap);
	va_end(ap);
	return false;
}

int l2v_ledger_init(struct l2v_ledger *l, const struct l2v_opts *o)
{
	memset(l, 0, sizeof(*l));
	l->opts = o;
	if (op_index_init(&l->confirmed, L2V_OP_KEY_LEN) < 0)
		return -1;
	if (op_index_init(&l->epochs, WIRE_PROVIDER_ID_MAX + WIRE_EPOCH_LEN) < 0) {
		op_index_free(&l->confirmed);
		return -1;
	}
	return 0;
}

void l2v_ledger_free(struct l2v_ledger *l)
{
	op_index_free(&l->confirmed);
	op_index_free(&l->epochs);
}

static size_t provider_named(const struct l2v_segment *s, const char *name)
{
	for (size_t p = 0; p < s->n_providers; p++)
		if (strcmp(s->names[p], name) == 0)
			return p;
	return SIZE_MAX;
}

static bool same_uncovered(const struct l2v_segment *a, const struct l2v_chain *ca, const struct l2v_segment *b,
			   const struct l2v_chain *cb)
{
	if (ca->n_uncovered != cb->n_uncovered)
		return false;
	for (size_t i = 0; i < ca->n_uncovered; i++)
		if (ca->uncovered[i].stage != cb->uncovered[i].stage ||
		    memcmp(op_index_key(&a->ops, ca->uncovered[i].op), op_index_key(&b->ops, cb->uncovered[i].op),
			   WIRE_DIGEST_LEN) != 0)
			return false;
	return true;
}

/* Each provider's stated start is the state computed at prev's end. */
static bool states_continue(const struct l2v_segment *prev, struct l2v_segment *s)
{
	if (s->n_providers != prev->n_providers)
		return fail_at(s, s->first_record, "n_providers", "names %zu providers, segment %" PRIu32 " %zu",
			       s->n_providers, prev->segment, prev->n_providers);
	for (size_t p = 0; p < s->n_providers; p++) {
		size_t q = provider_named(prev, s->names[p]);
		if (q == SIZE_MAX)
			return fail_at(s, s->first_record, "name", "provider %s is not in segment %" PRIu32 "'s table",
				       s->names[p], prev->segment);
		const struct l2v_chain *want = &prev->end[q], *got = &s->start[p];
		bool same = want->open == got->open &&
			    (!want->open || (memcmp(want->epoch, got->epoch, WIRE_EPOCH_LEN) == 0 &&
					     want->pseq == got->pseq && want->covered == got->covered &&
					     memcmp(want->head, got->head, WIRE_DIGEST_LEN) == 0));
		if (!same)
			return fail_at(s, s->first_record, "state", "provider %s: the stated chain state is not the one "
				       "segment %" PRIu32 " ended with", s->names[p], prev->segment);
		if (!same_uncovered(prev, want, s, got))
			return fail_at(s, s->first_record, "uncovered", "provider %s: the stated uncovered signals are "
				       "not those segment %" PRIu32 " ended with", s->names[p], prev->segment);
	}
	return true;
}

/* A provider's bit in prev's numbering of the providers. */
static uint64_t remap_mask(const struct l2v_segment *prev, const struct l2v_segment *s, uint64_t mask)
{
	uint64_t out = 0;
	for (size_t p = 0; p < s->n_providers; p++)
		if (mask >> p & 1)
			out |= UINT64_C(1) << provider_named(prev, s->names[p]);
	return out;
}

/* Every carried operation's masks and confirmed flag are held by what prev
 * computed of it. */
static bool carried_held(const struct l2v_segment *prev, struct l2v_segment *s)
{
	for (size_t i = 0; i < s->n_carried; i++) {
		const struct l2v_carried *c = &s->carried[i];
		const uint8_t *id = op_index_key(&s->ops, c->op);
		uint32_t j = op_index_find(&prev->ops, id);
		const struct l2v_op none = { 0 }, *op = j == OP_INDEX_NONE ? &none : &prev->op[j];
		uint64_t start = remap_mask(prev, s, c->start_mask), complete = remap_mask(prev, s, c->complete_mask);
		char hex[17];
		for (int b = 0; b < 8; b++)
			snprintf(hex + 2 * b, 3, "%02x", id[b]);
		if ((start & ~op->start_mask) || (complete & ~op->complete_mask))
			return fail_at(s, s->first_record, "carried", "operation %s...: carried with stages covered that "
				       "segment %" PRIu32 " did not cover", hex, prev->segment);
		if (c->confirmed && !(op->flags & L2V_OP_CONFIRMED))
			return fail_at(s, s->first_record, "carried", "operation %s...: carried as confirmed, but segment "
				       "%" PRIu32 " did not confirm it", hex, prev->segment);
	}
	return true;
}

/* Rule 8: s starts exactly where prev ended. */
static bool continues(struct l2v_segment *prev, struct l2v_segment *s)
{
	if (!prev->sealed)
		return fail_at(prev, prev->last_record, "head", "not sealed, but segment %" PRIu32 " follows it",
			       s->segment);
	if (s->segment == prev->segment)
		return fail_at(s, s->first_record, "segment", "states segment %" PRIu32 " as %s does", s->segment,
			       prev->path);
	if (s->segment != prev->segment + 1)
		return fail_at(s, s->first_record, "segment", "segment %" PRIu32 " follows segment %" PRIu32
			       " (a segment is missing)", s->segment, prev->segment);
	if (s->first_record != prev->last_record + 1)
		return fail_at(s, s->first_record, "first_record", "starts at record %" PRIu64 ", but segment %" PRIu32
			       " ended at record %" PRIu64, s->first_record, prev->segment, prev->last_record);
	if (sodium_memcmp(s->prev, prev->chain, WIRE_DIGEST_LEN) != 0)
		return fail_at(s, s->first_record, "prev", "is not the file chain segment %" PRIu32 " ended with",
			       prev->segment);
	return states_continue(prev, s) && carried_held(prev, s);
}

static void epoch_key(uint8_t key[WIRE_PROVIDER_ID_MAX + WIRE_EPOCH_LEN], const char *name,
		      const uint8_t epoch[WIRE_EPOCH_LEN])
{
	memset(key, 0, WIRE_PROVIDER_ID_MAX);
	memcpy(key, name, strnlen(name, WIRE_PROVIDER_ID_MAX));
	memcpy(key + WIRE_PROVIDER_ID_MAX, epoch, WIRE_EPOCH_LEN);
}

/* No epoch opened twice, no operation confirmed twice, over the ledger. */
static bool once_over_ledger(struct l2v_ledger *l, struct l2v_segment *s)
{
	uint8_t key[WIRE_PROVIDER_ID_MAX + WIRE_EPOCH_LEN];
	bool added;
	for (size_t p = 0; p < s->n_providers; p++) {
		if (!s->start[p].open)
			continue;
		epoch_key(key, s->names[p], s->start[p].epoch);
		if (op_index_add(&l->epochs, key, &added) == OP_INDEX_NONE)
			return fail_at(s, s->first_record, "", "out of memory");
	}
	for (size_t i = 0; i < s->n_epochs; i++) {
		const struct l2v_epoch *e = &s->epochs[i];
		epoch_key(key, s->names[e->p], e->epoch);
		if (op_index_add(&l->epochs, key, &added) == OP_INDEX_NONE)
			return fail_at(s, e->record, "", "out of memory");
		if (!added)
			return fail_at(s, e->record, "epoch", "checkpoint of %s: epoch opened a second time (in an earlier "
				       "segment)", s->names[e->p]);
	}
	for (uint32_t i = 0; i < s->ops.n; i++) {
		if (!(s->op[i].flags & L2V_OP_CONFIRMED_HERE))
			continue;
		if (op_index_add(&l->confirmed, op_index_key(&s->ops, i), &added) == OP_INDEX_NONE)
			return fail_at(s, s->op[i].confirmed_at, "", "out of memory");
		if (!added)
			return fail_at(s, s->op[i].confirmed_at, "op", "confirmed: this operation was confirmed in an "
				       "earlier segment");
	}
	return true;
}

/* The oldest segment present, past segment 1: what its segment record
 * states (provider states, carried operations) came from segments not
 * here, and its confirmations may rest on it. Only the association's
 * signature vouches for that start: a verified head must cover it. */
static bool start_signed(const struct l2v_ledger *l, struct l2v_segment *s)
{
	if (s->segment == 1 || !l->opts->association_pk || s->last_head.seq >= s->first_record)
		return true;
	return fail_at(s, s->first_record, "segment", "segment %" PRIu32 " is the oldest present and no verified head "
		       "covers its start (the state it carries from the segments before it): nothing authenticates it",
		       s->segment);
}

bool l2v_ledger_add(struct l2v_ledger *l, struct l2v_segment *prev, struct l2v_segment *s)
{
	if (prev ? !continues(prev, s) : !start_signed(l, s))
		return false;
	if (!once_over_ledger(l, s))
		return false;
	if (l->segments++ == 0) {
		l->first_segment = s->segment;
		l->first_record = s->first_record;
	}
	l->last_record = s->last_record;
	l->records += s->records;
	l->signals += s->signals;
	l->checkpoints += s->checkpoints;
	l->confirmed_count += s->confirmed;
	l->incomplete += s->incomplete;
	l->rejected += s->rejected;
	l->heads += s->heads;
	l->heads_unchecked += s->heads_unchecked;
	l->uncovered += s->uncovered;
	l->bytes += s->bytes;
	l->expect_found |= s->expect_found;
	if (s->last_head.seq) {
		l->last_head = s->last_head;
		l->last_head_path = s->path;
	}
	return true;
}

bool l2v_ledger_end(struct l2v_ledger *l, const struct l2v_segment *last, char *why, size_t whylen)
{
	if (last)
		for (size_t p = 0; p < last->n_providers; p++)
			l->uncovered += last->end[p].n_uncovered;
	const struct l2v_opts *o = l->opts;
	for (size_t i = 0; i < o->n_expect && i < 32; i++) {
		if (l->expect_found >> i & 1)
			continue;
		char text[LEDGER_HEAD_TEXT_MAX];
		ledger_head_format(&o->expect[i], text);
		if (l->segments && o->expect[i].seq < l->first_record)
			err_set(why, whylen, "expected head %s: before the oldest segment present (segment %" PRIu32
				", from record %" PRIu64 "): it cannot be checked", text, l->first_segment,
				l->first_record);
		else
			err_set(why, whylen, "expected head %s: the ledger ends at record %" PRIu64 " (records were cut "
				"off)", text, l->last_record);
		return false;
	}
	return true;
}
