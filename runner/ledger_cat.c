/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run ledger cat`: the records of a version 2 segment file, each
 * decoded into one JSON object (the one home of their names and fields),
 * printed as a JSON line or as one line of text "#N type key=value ...".
 * A version 1 file's lines are printed as they are. */
#define _GNU_SOURCE
#include "ledger_cat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/ledger2.h"
#include "../lib/log.h"

struct cat {
	const char *path;
	bool jsonl;
	uint64_t rec;                        /* number of the last record printed */
	uint64_t block_t;
	size_t n_providers;
	char names[L2_PROVIDERS_MAX][WIRE_PROVIDER_ID_MAX + 1];
	uint8_t (*ops)[WIRE_DIGEST_LEN];     /* this segment's operations, by number */
	uint64_t n_ops, ops_cap;
};

static json_t *hex(const uint8_t *p, size_t n)
{
	char text[2 * 64 + 1];
	for (size_t i = 0; i < n && i < 64; i++)
		snprintf(text + 2 * i, 3, "%02x", p[i]);
	return json_stringn(text, 2 * (n < 64 ? n : 64));
}

static json_t *provider(const struct cat *c, uint8_t p)
{
	return p < c->n_providers ? json_string(c->names[p]) : json_sprintf("#%u", p);
}

static json_t *providers_of(const struct cat *c, uint64_t mask)
{
	json_t *list = json_array();
	for (size_t p = 0; p < 64; p++)
		if (mask >> p & 1)
			json_array_append_new(list, provider(c, (uint8_t)p));
	return list;
}

/* The id an entry names (a new one joins the segment's numbering); NULL
 * for a reference to nothing. */
static const uint8_t *op_of(struct cat *c, const struct l2_opref *r)
{
	if (!r->is_new)
		return r->ref < c->n_ops ? c->ops[c->n_ops - 1 - r->ref] : NULL;
	if (c->n_ops == c->ops_cap) {
		uint64_t cap = c->ops_cap ? 2 * c->ops_cap : 4096;
		void *grown = reallocarray(c->ops, cap, sizeof(*c->ops));
		if (!grown)
			return NULL;
		c->ops = grown;
		c->ops_cap = cap;
	}
	memcpy(c->ops[c->n_ops], r->op, WIRE_DIGEST_LEN);
	return c->ops[c->n_ops++];
}

static void text_value(json_t *v)
{
	size_t i;
	json_t *e;
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_array(v))
		json_array_foreach(v, i, e)
		{
			if (i)
				putchar(',');
			text_value(e);
		}
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(s ? s : "?", stdout);
		free(s);
	}
}

static bool is_table(json_t *v)
{
	return json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0));
}

/* "#N type key=value ...", then each list of objects ("states", "carried")
 * on lines of their own. */
static void emit_text(json_t *o)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "record") == 0)
			printf("#%" PRIu64, (uint64_t)json_integer_value(v));
		else if (strcmp(key, "type") == 0)
			printf(" %s", json_string_value(v));
		else if (!is_table(v)) {
			printf(" %s=", key);
			text_value(v);
		}
	}
	json_object_foreach(o, key, v)
	{
		size_t i;
		json_t *e;
		if (!is_table(v))
			continue;
		printf("\n  %s:", key);
		json_array_foreach(v, i, e)
		{
			const char *k2;
			json_t *v2;
			printf("\n   ");
			json_object_foreach(e, k2, v2)
			{
				printf(" %s=", k2);
				text_value(v2);
			}
		}
	}
	putchar('\n');
}

/* Prints one record and frees it. */
static void emit(struct cat *c, json_t *o)
{
	if (!o)
		return;
	if (c->jsonl) {
		char *s = json_dumps(o, JSON_COMPACT);
		if (s)
			puts(s);
		free(s);
	} else {
		emit_text(o);
	}
	json_decref(o);
}

static json_t *record_head(struct cat *c, const char *type)
{
	return json_pack("{s:I, s:s}", "record", (json_int_t)(c->rec + 1), "type", type);
}

static bool segment_rec(struct cat *c, struct l2_cursor *cur)
{
	struct l2_segment_hdr h;
	if (!l2_get_segment_hdr(cur, &h))
		return false;
	c->n_ops = 0;
	c->n_providers = h.n_providers;
	json_t *names = json_array(), *states = json_array(), *carried = json_array();
	for (size_t p = 0; p < h.n_providers; p++) {
		snprintf(c->names[p], sizeof(c->names[p]), "%s", h.names[p]);
		json_array_append_new(names, json_string(h.names[p]));
	}
	bool ok = true;
	for (size_t p = 0; ok && p < h.n_providers; p++) {
		struct l2_state st;
		if (!(ok = l2_get_state(cur, &st)))
			break;
		json_t *s = json_pack("{s:s, s:b}", "provider", h.names[p], "open", st.open);
		if (st.open) {
			json_object_set_new(s, "epoch", hex(st.epoch, WIRE_EPOCH_LEN));
			json_object_set_new(s, "pseq", json_integer((json_int_t)st.pseq));
			json_object_set_new(s, "covered", json_integer((json_int_t)st.covered));
			json_object_set_new(s, "head", hex(st.head, WIRE_DIGEST_LEN));
		}
		json_t *unc = json_array();
		for (uint64_t i = st.covered; ok && i < st.pseq; i++) {
			struct l2_opref r;
			uint8_t stage;
			const uint8_t *op;
			ok = l2_get_uncovered_entry(cur, &r, &stage) && (op = op_of(c, &r)) != NULL;
			if (ok)
				json_array_append_new(unc, json_pack("{s:o, s:s}", "op", hex(op, WIRE_DIGEST_LEN), "stage",
								     wire_stage_name(stage)));
		}
		json_object_set_new(s, "uncovered", unc);
		json_array_append_new(states, s);
	}
	uint32_t n = 0;
	ok = ok && l2_get_u32(cur, &n);
	for (uint32_t i = 0; ok && i < n; i++) {
		struct l2_opref r;
		bool confirmed;
		uint64_t start, complete;
		const uint8_t *op;
		ok = l2_get_carried_entry(cur, &r, &confirmed, &start, &complete) && (op = op_of(c, &r)) != NULL;
		if (ok)
			json_array_append_new(carried, json_pack("{s:o, s:b, s:o, s:o}", "op", hex(op, WIRE_DIGEST_LEN),
								 "confirmed", confirmed, "start", providers_of(c, start),
								 "complete", providers_of(c, complete)));
	}
	json_t *o = json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:o}", "record", (json_int_t)h.first_record, "type",
			      "segment", "segment", (json_int_t)h.segment, "prev", hex(h.prev, WIRE_DIGEST_LEN), "providers",
			      names, "states", states, "carried", carried);
	c->rec = h.first_record - 1;
	if (!ok) {
		json_decref(o);
		return false;
	}
	emit(c, o);
	c->rec++;
	return true;
}

static bool signals_rec(struct cat *c, struct l2_cursor *cur)
{
	struct l2_signals_hdr h;
	if (!l2_get_signals_hdr(cur, &h))
		return false;
	uint64_t t = h.t_first;
	for (uint16_t i = 0; i < h.count; i++) {
		struct l2_opref r;
		uint8_t stage;
		const uint8_t *value, *op;
		int64_t dt;
		if (!l2_get_signal_entry(cur, i == 0, &r, &stage, &value, &dt) || !(op = op_of(c, &r)))
			return false;
		t += (uint64_t)dt;
		json_t *o = record_head(c, "signal");
		json_object_set_new(o, "provider", provider(c, h.p));
		json_object_set_new(o, "stage", json_string(wire_stage_name(stage)));
		json_object_set_new(o, "op", hex(op, WIRE_DIGEST_LEN));
		json_object_set_new(o, "value", hex(value, WIRE_DIGEST_LEN));
		json_object_set_new(o, "t", json_integer((json_int_t)t));
		json_object_set_new(o, "pseq", json_integer((json_int_t)(h.first_pseq + i)));
		emit(c, o);
		c->rec++;
	}
	return true;
}

static bool closed_rec(struct cat *c, struct l2_cursor *cur, const char *type)
{
	uint16_t count;
	if (!l2_get_u16(cur, &count))
		return false;
	for (uint16_t i = 0; i < count; i++) {
		struct l2_opref r;
		uint64_t mask;
		const uint8_t *op;
		if (!l2_get_closed_entry(cur, &r, &mask) || !(op = op_of(c, &r)))
			return false;
		json_t *o = record_head(c, type);
		json_object_set_new(o, "op", hex(op, WIRE_DIGEST_LEN));
		json_object_set_new(o, "providers", providers_of(c, mask));
		json_object_set_new(o, "t", json_integer((json_int_t)c->block_t));
		emit(c, o);
		c->rec++;
	}
	return true;
}

static bool one_record(struct cat *c, const struct l2_record *r)
{
	struct l2_cursor cur = { r->payload, r->payload + r->len };
	json_t *o = NULL;
	bool ok = true;
	if (r->type == L2_SEGMENT) {
		ok = segment_rec(c, &cur);
	} else if (r->type == L2_SIGNALS) {
		ok = signals_rec(c, &cur);
	} else if (r->type == L2_CONFIRMED || r->type == L2_INCOMPLETE) {
		ok = closed_rec(c, &cur, r->type == L2_CONFIRMED ? "confirmed" : "incomplete");
	} else if (r->type == L2_CHECKPOINT) {
		struct l2_checkpoint_rec k;
		if ((ok = l2_get_checkpoint(&cur, &k))) {
			o = record_head(c, "checkpoint");
			json_object_set_new(o, "provider", provider(c, k.p));
			json_object_set_new(o, "pseq", json_integer((json_int_t)k.pseq));
			json_object_set_new(o, "opens", json_boolean(k.opens));
			if (k.opens)
				json_object_set_new(o, "epoch", hex(k.epoch, WIRE_EPOCH_LEN));
			json_object_set_new(o, "sig", hex(k.sig, WIRE_SIG_LEN));
		}
	} else if (r->type == L2_REJECTED) {
		uint8_t p;
		if ((ok = l2_get_u8(&cur, &p))) {
			o = record_head(c, "rejected");
			json_object_set_new(o, "provider", provider(c, p));
			json_object_set_new(o, "reason", json_stringn((const char *)cur.p, (size_t)(cur.end - cur.p)));
			cur.p = cur.end;
		}
	} else if (r->type == L2_HEAD) {
		struct l2_head_rec h;
		if ((ok = l2_get_head(&cur, &h))) {
			o = record_head(c, "head");
			json_object_set_new(o, "covers", json_integer((json_int_t)h.covers));
			json_object_set_new(o, "chain", hex(h.chain, WIRE_DIGEST_LEN));
			json_object_set_new(o, "seal", json_boolean(h.seal));
			json_object_set_new(o, "sig", hex(h.sig, WIRE_SIG_LEN));
		}
	} else {
		ok = false;
	}
	if (o) {
		emit(c, o);
		c->rec++;
	}
	return ok && cur.p == cur.end;
}

static int cat_v1(int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
	return n < 0 ? -1 : 0;
}

int ledger_cat_file(const char *path, bool jsonl)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		return LEDGER_CAT_CANNOT_READ;
	}
	struct cat c = { .path = path, .jsonl = jsonl };
	struct l2_reader r;
	struct l2_block b;
	int first, rc = 0;
	enum l2_read_status st = l2_reader_open(&r, fd, &first);
	if (st == L2_READ_BAD && first == '{') {
		l2_reader_close(&r);
		rc = cat_v1(fd) < 0 ? LEDGER_CAT_CANNOT_READ : 0;
		if (rc)
			log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (st == L2_READ_BAD) {
		log_error("%s: not a ledger (neither version 1 nor version 2)", path);
		rc = LEDGER_CAT_MALFORMED;
	}
	while (st == L2_READ_OK && (st = l2_reader_next(&r, &b)) == L2_READ_OK) {
		struct l2_cursor body = { b.body, b.body + b.body_len };
		struct l2_record rec;
		c.block_t = b.t;
		while (body.p < body.end && rc == 0) {
			if (!l2_record_next(&body, &rec) || !one_record(&c, &rec)) {
				log_error("%s: block at offset %" PRIu64 ": record %" PRIu64 " cannot be decoded", path,
					  r.block_off, c.rec + 1);
				rc = LEDGER_CAT_MALFORMED;
			}
		}
		if (rc)
			break;
	}
	if (st == L2_READ_TORN || (st == L2_READ_BAD && rc == 0)) {
		log_error("%s: %s after record %" PRIu64, path, st == L2_READ_TORN ? "the file ends inside a block" :
			  "bytes that are not a block", c.rec);
		rc = LEDGER_CAT_MALFORMED;
	} else if (st == L2_READ_IO) {
		log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		rc = LEDGER_CAT_CANNOT_READ;
	}
	l2_reader_close(&r);
	close(fd);
	free(c.ops);
	return rc;
}
