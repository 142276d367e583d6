/* SPDX-License-Identifier: Apache-2.0 */
/* JSON for a version 2 ledger record (ledger2_json.h). */
#define _GNU_SOURCE
#include "ledger2_json.h"

#include "derive.h"

const char *l2_type_name(uint8_t type)
{
	static const char *const names[] = { [L2_SEGMENT] = "segment",       [L2_SIGNALS] = "signal",
					      [L2_CHECKPOINT] = "checkpoint", [L2_CONFIRMED] = "confirmed",
					      [L2_INCOMPLETE] = "incomplete", [L2_REJECTED] = "rejected",
					      [L2_HEAD] = "head" };
	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}

static int set_hex(json_t *o, const char *key, const uint8_t *bytes, size_t n)
{
	char hex[2 * WIRE_SIG_LEN + 1];
	hex_encode(bytes, n, hex);
	return json_object_set_new(o, key, json_string(hex));
}

static int set_uint(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* The names of the providers in mask, in the segment's order; a bit
 * beyond the table as "#P" (shown, not judged: verify does). */
static json_t *names_of(const struct l2_segment_hdr *hdr, uint64_t mask)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < 64; i++)
		if (mask >> i & 1)
			json_array_append_new(a, i < hdr->n_providers ? json_string(hdr->names[i]) : json_sprintf("#%u", i));
	return a;
}

/* A provider's state at the segment's start, with its uncovered signals. */
static json_t *state_json(const char *name, const struct l2_state *st)
{
	json_t *s = json_pack("{s:s, s:b}", "provider", name, "open", st->open), *unc = json_array();
	int rc = !s || !unc;
	if (!rc && st->open)
		rc |= set_hex(s, "epoch", st->epoch, WIRE_EPOCH_LEN) | set_uint(s, "pseq", st->pseq) |
		      set_uint(s, "covered", st->covered) | set_hex(s, "head", st->head, WIRE_DIGEST_LEN);
	for (uint64_t i = 0; !rc && i < st->pseq - st->covered; i++) {
		json_t *u = json_object();
		rc |= !u || set_hex(u, "op", st->uncovered[i].op, WIRE_DIGEST_LEN) |
			    json_object_set_new(u, "stage", json_string(wire_stage_name(st->uncovered[i].stage))) |
			    json_array_append_new(unc, u);
	}
	rc |= json_object_set_new(s, "uncovered", unc); /* unc freed if s is NULL */
	if (rc) {
		json_decref(s);
		return NULL;
	}
	return s;
}

/* The provider states and carried operations of a segment record. */
static int set_start(json_t *o, const struct l2_segment_hdr *hdr, const struct l2_segment_start *start)
{
	json_t *states = json_array(), *carried = json_array();
	int rc = json_object_set_new(o, "states", states) | json_object_set_new(o, "carried", carried);
	for (size_t p = 0; !rc && p < start->n_providers; p++)
		rc |= json_array_append_new(states, state_json(start->names[p], &start->states[p]));
	for (size_t i = 0; !rc && i < start->n_carried; i++) {
		const struct l2_carried *c = &start->carried[i];
		json_t *e = json_object();
		rc |= !e || set_hex(e, "op", c->op, WIRE_DIGEST_LEN) |
			    json_object_set_new(e, "confirmed", json_boolean(c->confirmed)) |
			    json_object_set_new(e, "start", names_of(hdr, c->start_mask)) |
			    json_object_set_new(e, "complete", names_of(hdr, c->complete_mask)) |
			    json_array_append_new(carried, e);
	}
	return rc;
}

json_t *l2_entry_json(const struct l2_entry *e)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = set_uint(o, "segment", e->segment) | set_uint(o, "record", e->record) |
		 json_object_set_new(o, "type", json_string(l2_type_name(e->type)));
	switch (e->type) {
	case L2_SEGMENT:
		rc |= set_hex(o, "prev", e->hdr->prev, WIRE_DIGEST_LEN) |
		      json_object_set_new(o, "providers", names_of(e->hdr, UINT64_MAX >> (64 - e->hdr->n_providers))) |
		      set_uint(o, "t", e->block_t) | set_start(o, e->hdr, e->start);
		break;
	case L2_SIGNALS:
		rc |= set_hex(o, "op", e->op, WIRE_DIGEST_LEN) | json_object_set_new(o, "provider", json_string(e->provider)) |
		      json_object_set_new(o, "stage", json_string(wire_stage_name(e->stage))) |
		      set_hex(o, "value", e->value, WIRE_DIGEST_LEN) | set_uint(o, "t", e->t) | set_uint(o, "pseq", e->pseq);
		break;
	case L2_CHECKPOINT:
		rc |= json_object_set_new(o, "provider", json_string(e->provider)) | set_uint(o, "pseq", e->pseq) |
		      json_object_set_new(o, "opens", json_boolean(e->checkpoint->opens)) |
		      (e->checkpoint->opens ? set_hex(o, "epoch", e->checkpoint->epoch, WIRE_EPOCH_LEN) : 0) |
		      set_hex(o, "sig", e->checkpoint->sig, WIRE_SIG_LEN);
		break;
	case L2_CONFIRMED:
	case L2_INCOMPLETE:
		rc |= set_hex(o, "op", e->op, WIRE_DIGEST_LEN) | json_object_set_new(o, "providers", names_of(e->hdr, e->mask)) |
		      set_uint(o, "t", e->block_t);
		break;
	case L2_REJECTED:
		rc |= json_object_set_new(o, "provider", json_string(e->provider)) |
		      json_object_set_new(o, "reason", json_string(e->reason)) | set_uint(o, "t", e->block_t);
		break;
	case L2_HEAD:
		rc |= set_uint(o, "covers", e->head->covers) | set_hex(o, "head", e->head->chain, WIRE_DIGEST_LEN) |
		      set_hex(o, "sig", e->head->sig, WIRE_SIG_LEN) |
		      json_object_set_new(o, "seal", json_boolean(e->head->seal)) | set_uint(o, "t", e->block_t);
		break;
	default:
		break;
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int l2_entry_print_jsonl(FILE *f, const struct l2_entry *e)
{
	json_t *o = l2_entry_json(e);
	int rc = !o || json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 || fputc('\n', f) == EOF ? -1 : 0;
	json_decref(o);
	return rc;
}
