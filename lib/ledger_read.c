/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the ledger's version 1 format (JSON Lines), shared by its offline
 * verifier (ledger_verify.c) and the tests' version 1 writer: a bounded line
 * reader, so neither ever holds the whole file, the readers of one record's
 * fields, and the check of the file's own seq/prev chain. */
#define _GNU_SOURCE
#include "ledger_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "derive.h"
#include "text.h"

/* ---------------------------------------------------------------- lines */

void ledger_line_reader_init(struct line_reader *lr, int fd)
{
	memset(lr, 0, offsetof(struct line_reader, buf));
	lr->fd = fd;
}

/* Reads more bytes after compacting; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t ledger_line_reader_fill(struct line_reader *lr)
{
	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	for (;;) {
		ssize_t n = pread(lr->fd, lr->buf + lr->end, sizeof(lr->buf) - lr->end, lr->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			lr->end += (size_t)n;
			lr->off += n;
		}
		return n;
	}
}

/* Next line without its newline. lr->lineno counts every line seen,
 * including a partial or over-long one, so errors can name it. */
enum line_status ledger_line_next(struct line_reader *lr, const char **line, size_t *len)
{
	for (;;) {
		char *start = lr->buf + lr->start;
		size_t avail = lr->end - lr->start;
		char *nl = memchr(start, '\n', avail < LEDGER_LINE_MAX ? avail : LEDGER_LINE_MAX);
		if (nl) {
			lr->lineno++;
			*line = start;
			*len = (size_t)(nl - start);
			lr->start += *len + 1;
			return LINE_OK;
		}
		if (avail >= LEDGER_LINE_MAX) {
			lr->lineno++;
			return LINE_TOO_LONG;
		}
		ssize_t n = ledger_line_reader_fill(lr);
		if (n < 0) {
			lr->lineno++;
			return LINE_IO;
		}
		if (n == 0) {
			if (lr->end == lr->start)
				return LINE_EOF;
			lr->lineno++;
			return LINE_PARTIAL;
		}
	}
}

/* Why reading stopped before the end of the file. */
void ledger_line_status_why(enum line_status st, char *why, size_t whylen)
{
	if (st == LINE_PARTIAL)
		snprintf(why, whylen, "partial last line");
	else if (st == LINE_TOO_LONG)
		snprintf(why, whylen, "line longer than %d bytes", LEDGER_LINE_MAX - 1);
	else
		snprintf(why, whylen, "read: %s", strerror(errno));
}

/* ------------------------------------------------------- field readers */

/* Reads a lowercase hex field of exactly n bytes. */
bool ledger_get_hex(json_t *obj, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	return len == 2 * n && text_is_lower_hex(s, len) && hex_decode(s, len, out, n) == 0;
}

bool ledger_get_uint(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

const char *ledger_get_name(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	const char *name = json_string_value(v);
	return wire_provider_name_valid(name) ? name : NULL;
}

/* A list of provider names, sorted bytewise and without duplicates. */
bool ledger_get_names(json_t *obj, const char *key, size_t min, size_t max)
{
	json_t *arr = json_object_get(obj, key);
	if (!json_is_array(arr) || json_array_size(arr) < min || json_array_size(arr) > max)
		return false;
	const char *last = NULL;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return false;
		const char *name = json_string_value(v);
		if (!wire_provider_name_valid(name) || (last && strcmp(last, name) >= 0))
			return false;
		last = name;
	}
	return true;
}

/* One field of a record type. */
enum ledger_field_kind {
	LEDGER_FIELD_HEX,    /* lowercase hex of exactly n bytes */
	LEDGER_FIELD_UINT,   /* an integer >= 0 */
	LEDGER_FIELD_NAME,   /* a provider name */
	LEDGER_FIELD_NAMES,  /* ledger_get_names with at least n names */
	LEDGER_FIELD_STRING, /* any string */
	LEDGER_FIELD_STAGE,  /* "START" or "COMPLETE" */
};
struct ledger_field {
	const char *name;
	enum ledger_field_kind kind;
	size_t n;
};

/* Each record type's fields after seq, prev and type (docs/ARCHITECTURE.md §7). */
static const struct ledger_field signal_fields[] = {
	{ "op", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },	{ "provider", LEDGER_FIELD_NAME, 0 },
	{ "stage", LEDGER_FIELD_STAGE, 0 },		{ "value", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "t", LEDGER_FIELD_UINT, 0 },			{ "pseq", LEDGER_FIELD_UINT, 0 },
	{ "chain", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
};
static const struct ledger_field checkpoint_fields[] = {
	{ "provider", LEDGER_FIELD_NAME, 0 }, { "epoch", LEDGER_FIELD_HEX, WIRE_EPOCH_LEN },
	{ "pseq", LEDGER_FIELD_UINT, 0 },     { "head", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "sig", LEDGER_FIELD_HEX, WIRE_SIG_LEN },
};
static const struct ledger_field confirmed_fields[] = {
	{ "op", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "providers", LEDGER_FIELD_NAMES, 1 },
	{ "linkage", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "t", LEDGER_FIELD_UINT, 0 },
};
static const struct ledger_field incomplete_fields[] = {
	{ "op", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "providers", LEDGER_FIELD_NAMES, 0 },
	{ "t", LEDGER_FIELD_UINT, 0 },
};
static const struct ledger_field rejected_fields[] = {
	{ "provider", LEDGER_FIELD_NAME, 0 },
	{ "reason", LEDGER_FIELD_STRING, 0 },
	{ "t", LEDGER_FIELD_UINT, 0 },
};
static const struct ledger_field head_fields[] = {
	{ "covers", LEDGER_FIELD_UINT, 0 },
	{ "head", LEDGER_FIELD_HEX, WIRE_DIGEST_LEN },
	{ "sig", LEDGER_FIELD_HEX, crypto_sign_BYTES },
};

#define FIELDS(a) (a), (sizeof(a) / sizeof((a)[0]))
static const struct {
	const char *type;
	const struct ledger_field *fields;
	size_t n;
} record_types[] = {
	{ "signal", FIELDS(signal_fields) },	     { "checkpoint", FIELDS(checkpoint_fields) },
	{ "confirmed", FIELDS(confirmed_fields) }, { "incomplete", FIELDS(incomplete_fields) },
	{ "rejected", FIELDS(rejected_fields) },   { "head", FIELDS(head_fields) },
};

/* Whether v is a well-formed value of f; if not, why says what is expected. */
static bool field_holds(json_t *obj, const struct ledger_field *f, char *why, size_t whylen)
{
	uint8_t bytes[64];
	uint64_t u;
	const char *stage;
	switch (f->kind) {
	case LEDGER_FIELD_HEX:
		if (f->n <= sizeof(bytes) && ledger_get_hex(obj, f->name, bytes, f->n))
			return true;
		snprintf(why, whylen, "expected %zu lowercase hex digits", 2 * f->n);
		return false;
	case LEDGER_FIELD_UINT:
		if (ledger_get_uint(obj, f->name, &u))
			return true;
		snprintf(why, whylen, "expected an integer of 0 or more");
		return false;
	case LEDGER_FIELD_NAME:
		if (ledger_get_name(obj, f->name))
			return true;
		snprintf(why, whylen, "expected a provider name (1 to %d of A-Z a-z 0-9 _ -)", WIRE_PROVIDER_ID_MAX);
		return false;
	case LEDGER_FIELD_NAMES:
		if (ledger_get_names(obj, f->name, f->n, LEDGER_NAMES_MAX))
			return true;
		snprintf(why, whylen, "expected %zu to %d provider names, sorted, none twice", f->n, LEDGER_NAMES_MAX);
		return false;
	case LEDGER_FIELD_STRING:
		if (json_is_string(json_object_get(obj, f->name)))
			return true;
		snprintf(why, whylen, "expected a string");
		return false;
	case LEDGER_FIELD_STAGE:
		stage = json_string_value(json_object_get(obj, f->name));
		if (stage && (strcmp(stage, "START") == 0 || strcmp(stage, "COMPLETE") == 0))
			return true;
		snprintf(why, whylen, "expected \"START\" or \"COMPLETE\"");
		return false;
	}
	snprintf(why, whylen, "internal error: unknown field kind");
	return false;
}

bool ledger_check_fields(json_t *obj, const char *type, const char **bad, char *why, size_t whylen)
{
	size_t r = 0;
	while (r < sizeof(record_types) / sizeof(record_types[0]) && strcmp(record_types[r].type, type) != 0)
		r++;
	if (r == sizeof(record_types) / sizeof(record_types[0])) {
		*bad = "type";
		snprintf(why, whylen, "unknown record type \"%.32s\"", type);
		return false;
	}
	const struct ledger_field *fields = record_types[r].fields;
	size_t n = record_types[r].n;
	for (size_t i = 0; i < n; i++) {
		*bad = fields[i].name;
		if (!json_object_get(obj, fields[i].name)) {
			snprintf(why, whylen, "missing from a %s record", type);
			return false;
		}
		if (!field_holds(obj, &fields[i], why, whylen))
			return false;
	}
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value) {
		bool known = strcmp(key, "seq") == 0 || strcmp(key, "prev") == 0 || strcmp(key, "type") == 0;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(key, fields[i].name) == 0;
		if (!known) {
			*bad = key;
			snprintf(why, whylen, "not a field of a %s record", type);
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------- the file's chain */

/* Checks seq and prev of one parsed line against what the previous line
 * implies; fills why on failure. */
bool ledger_check_link(json_t *obj, uint64_t expect_seq, const uint8_t expect_prev[WIRE_DIGEST_LEN],
		       char *why, size_t whylen)
{
	uint64_t seq;
	uint8_t prev[WIRE_DIGEST_LEN];
	if (!ledger_get_uint(obj, "seq", &seq)) {
		snprintf(why, whylen, "seq missing or not a non-negative integer");
		return false;
	}
	if (seq != expect_seq) {
		snprintf(why, whylen, "seq is %" PRIu64 ", expected %" PRIu64, seq, expect_seq);
		return false;
	}
	if (!ledger_get_hex(obj, "prev", prev, sizeof(prev))) {
		snprintf(why, whylen, "prev missing or not 64 lowercase hex digits");
		return false;
	}
	if (sodium_memcmp(prev, expect_prev, sizeof(prev)) != 0) {
		if (expect_seq == 1)
			snprintf(why, whylen, "prev of the first line is not zero");
		else
			snprintf(why, whylen, "prev does not match line %" PRIu64, expect_seq - 1);
		return false;
	}
	return true;
}

/* Parses one line as a JSON object; fills why on failure. */
json_t *ledger_parse_line(const char *line, size_t len, char *why, size_t whylen)
{
	json_error_t err;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!obj) {
		snprintf(why, whylen, "not valid JSON: %s", err.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		snprintf(why, whylen, "not a JSON object");
		return NULL;
	}
	return obj;
}

/* Checks that obj has exactly seq, prev, type and these keys. */
bool ledger_has_exact_keys(json_t *obj, size_t nfields)
{
	return json_object_size(obj) == 3 + nfields;
}

bool ledger_read_signal(json_t *obj, struct signal_frame *s)
{
	const char *name = ledger_get_name(obj, "provider");
	json_t *stage = json_object_get(obj, "stage");
	if (!ledger_has_exact_keys(obj, 7) || !name || !json_is_string(stage))
		return false;
	memset(s, 0, sizeof(*s));
	snprintf(s->provider, sizeof(s->provider), "%s", name);
	if (strcmp(json_string_value(stage), "START") == 0)
		s->stage = STAGE_START;
	else if (strcmp(json_string_value(stage), "COMPLETE") == 0)
		s->stage = STAGE_COMPLETE;
	else
		return false;
	return ledger_get_hex(obj, "op", s->op, sizeof(s->op)) && ledger_get_hex(obj, "value", s->value, sizeof(s->value)) &&
	       ledger_get_uint(obj, "t", &s->t_ns) && ledger_get_uint(obj, "pseq", &s->seq) &&
	       ledger_get_hex(obj, "chain", s->chain, sizeof(s->chain));
}

bool ledger_read_checkpoint(json_t *obj, struct checkpoint_frame *c)
{
	const char *name = ledger_get_name(obj, "provider");
	if (!ledger_has_exact_keys(obj, 5) || !name)
		return false;
	memset(c, 0, sizeof(*c));
	snprintf(c->provider, sizeof(c->provider), "%s", name);
	return ledger_get_hex(obj, "epoch", c->epoch, sizeof(c->epoch)) && ledger_get_uint(obj, "pseq", &c->seq) &&
	       ledger_get_hex(obj, "head", c->head, sizeof(c->head)) && ledger_get_hex(obj, "sig", c->sig, sizeof(c->sig));
}
