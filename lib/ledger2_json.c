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

/* The names of the providers in mask, in the segment's order. */
static json_t *names_of(const struct l2_segment_hdr *hdr, uint64_t mask)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < hdr->n_providers; i++)
		if (mask >> i & 1)
			json_array_append_new(a, json_string(hdr->names[i]));
	return a;
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
		rc |= set_uint(o, "first_record", e->hdr->first_record) |
		      set_hex(o, "prev", e->hdr->prev, WIRE_DIGEST_LEN) |
		      json_object_set_new(o, "providers", names_of(e->hdr, UINT64_MAX)) |
		      set_uint(o, "t", e->block_t);
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
