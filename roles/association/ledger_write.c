/* The association's ledger (docs/ARCHITECTURE.md §7): append with group commit,
 * and the replay a restarted association rebuilds from; the offline
 * verifier is ledger_verify.c.
 *
 * Both directions stream the file through a bounded line buffer, so neither
 * the association (at start) nor `mpbs-run verify` ever holds the whole file. */
#define _GNU_SOURCE
#include "../../lib/ledger.h"
#include "../../lib/ledger_read.h"
#include "../../lib/sha256.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"

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

static bool ledger_is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Reads a lowercase hex field of exactly n bytes. */
bool ledger_get_hex(json_t *obj, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	return len == 2 * n && ledger_is_lower_hex(s, len) && hex_decode(s, len, out, n) == 0;
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

/* ----------------------------------------------------------- the writer */

/* Follows the file's own seq/prev chain to its end. */
static int writer_recover(struct ledger_writer *w, char *errbuf, size_t errlen)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	if (!lr) {
		snprintf(errbuf, errlen, "ledger: %s", strerror(errno));
		return -1;
	}
	ledger_line_reader_init(lr, w->fd);
	const char *line;
	size_t len;
	enum line_status st;
	int rc = 0;
	while ((st = ledger_line_next(lr, &line, &len)) == LINE_OK) {
		char why[200];
		json_t *obj = ledger_parse_line(line, len, why, sizeof(why));
		bool ok = obj && ledger_check_link(obj, w->seq + 1, w->prev, why, sizeof(why));
		json_decref(obj);
		if (!ok) {
			snprintf(errbuf, errlen, "ledger line %" PRIu64 ": %s", lr->lineno, why);
			rc = -1;
			break;
		}
		w->seq++;
		sha256_of(w->prev, line, len);
	}
	if (rc == 0 && st != LINE_EOF) {
		char why[200];
		ledger_line_status_why(st, why, sizeof(why));
		snprintf(errbuf, errlen, "ledger line %" PRIu64 ": %s", lr->lineno, why);
		rc = -1;
	}
	free(lr);
	return rc;
}

int ledger_writer_open(struct ledger_writer *w, int fd, char *errbuf, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	if (writer_recover(w, errbuf, errlen) < 0) {
		w->fd = -1;
		return -1;
	}
	return 0;
}

static bool reserved_key(const char *key)
{
	return strcmp(key, "seq") == 0 || strcmp(key, "prev") == 0 || strcmp(key, "type") == 0;
}

/* {"seq":…,"prev":…,"type":…, then fields in order}, compact. */
static char *record_dump(const struct ledger_writer *w, const char *type, json_t *fields)
{
	char prev_hex[HEX_DIGEST_LEN + 1];
	hex_encode(w->prev, sizeof(w->prev), prev_hex);
	json_t *rec = json_object();
	if (!rec)
		return NULL;
	bool ok = json_object_set_new(rec, "seq", json_integer((json_int_t)(w->seq + 1))) == 0 &&
		  json_object_set_new(rec, "prev", json_string(prev_hex)) == 0 &&
		  json_object_set_new(rec, "type", json_string(type)) == 0;
	const char *key;
	json_t *val;
	json_object_foreach(fields, key, val) {
		if (!ok)
			break;
		ok = json_object_set(rec, key, val) == 0;
	}
	char *line = ok ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rec);
	return line;
}

static int buffer_line(struct ledger_writer *w, const char *line, size_t len);

static int buffer_reserve(struct ledger_writer *w, size_t more)
{
	if (w->cap - w->len >= more)
		return 0;
	size_t cap = w->cap ? w->cap : 16384;
	while (cap - w->len < more)
		cap *= 2;
	char *buf = realloc(w->buf, cap);
	if (!buf)
		return -1;
	w->buf = buf;
	w->cap = cap;
	return 0;
}

int ledger_append(struct ledger_writer *w, const char *type, json_t *fields)
{
	int rc = -1;
	const char *key;
	json_t *val;
	if (!json_is_object(fields) || !type) {
		errno = EINVAL;
		goto out;
	}
	json_object_foreach(fields, key, val) {
		if (reserved_key(key)) {
			errno = EINVAL;
			goto out;
		}
	}
	char *line = record_dump(w, type, fields);
	if (!line) {
		errno = ENOMEM;
		goto out;
	}
	rc = buffer_line(w, line, strlen(line));
	free(line);
out:
	json_decref(fields);
	return rc;
}

/* Appends one finished line (without newline) to the buffer and advances
 * seq and prev over it. */
static int buffer_line(struct ledger_writer *w, const char *line, size_t len)
{
	if (len + 1 > LEDGER_LINE_MAX) {
		errno = EMSGSIZE; /* the verifier would refuse it */
		return -1;
	}
	if (buffer_reserve(w, len + 1) < 0) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(w->buf + w->len, line, len);
	w->buf[w->len + len] = '\n';
	w->len += len + 1;
	w->buffered++;
	w->seq++;
	sha256_of(w->prev, line, len);
	return 0;
}

static void put(struct ledger_fields *f, const void *p, size_t n)
{
	if (f->overflow || n > sizeof(f->text) - f->len) {
		f->overflow = true;
		return;
	}
	memcpy(f->text + f->len, p, n);
	f->len += n;
}

void ledger_fields_text(struct ledger_fields *f, const char *s)
{
	put(f, s, strlen(s));
}

void ledger_fields_hex(struct ledger_fields *f, const uint8_t *bytes, size_t n)
{
	if (f->overflow || 2 * n + 1 > sizeof(f->text) - f->len) { /* hex_encode ends with a NUL */
		f->overflow = true;
		return;
	}
	hex_encode(bytes, n, f->text + f->len);
	f->len += 2 * n;
}

void ledger_fields_u64(struct ledger_fields *f, uint64_t v)
{
	char digits[20];
	size_t n = 0;
	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(f, digits + sizeof(digits) - n, n);
}

int ledger_append_fields(struct ledger_writer *w, const char *type, const char *fields, size_t fields_len)
{
	struct ledger_fields line = { 0 };
	ledger_fields_text(&line, "{\"seq\":");
	ledger_fields_u64(&line, w->seq + 1);
	ledger_fields_text(&line, ",\"prev\":\"");
	ledger_fields_hex(&line, w->prev, sizeof(w->prev));
	ledger_fields_text(&line, "\",\"type\":\"");
	ledger_fields_text(&line, type);
	ledger_fields_text(&line, "\",");
	put(&line, fields, fields_len);
	put(&line, "}", 1);
	if (line.overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	return buffer_line(w, line.text, line.len);
}

int ledger_append_built(struct ledger_writer *w, const char *type, const struct ledger_fields *f)
{
	if (f->overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	return ledger_append_fields(w, type, f->text, f->len);
}

static size_t count_newlines(const char *p, size_t n)
{
	size_t count = 0;
	for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		count++;
	return count;
}

/* Drops the first n bytes of the buffer, which reached the file. */
static void buffer_consume(struct ledger_writer *w, size_t n)
{
	w->buffered -= count_newlines(w->buf, n);
	memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
}

int ledger_flush(struct ledger_writer *w)
{
	while (w->len > 0) {
		ssize_t n = write(w->fd, w->buf, w->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		/* What was written is in the file: buffering it again would
		 * duplicate lines, so only the unwritten tail stays. */
		buffer_consume(w, (size_t)n);
	}
	return 0;
}

int ledger_commit(struct ledger_writer *w)
{
	return ledger_flush(w) < 0 ? -1 : fdatasync(w->fd);
}

void ledger_writer_close(struct ledger_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = w->buffered = 0;
}

/* ------------------------------------------------------------- replay */

static bool replay_record(json_t *obj, const struct ledger_replay_ops *ops, void *ctx)
{
	const char *t = json_string_value(json_object_get(obj, "type"));
	struct signal_frame s;
	struct checkpoint_frame c;
	uint8_t op[WIRE_DIGEST_LEN];
	if (!t)
		return false;
	if (strcmp(t, "signal") == 0) {
		if (!ledger_read_signal(obj, &s))
			return false;
		if (ops->signal)
			ops->signal(ctx, &s);
	} else if (strcmp(t, "checkpoint") == 0) {
		if (!ledger_read_checkpoint(obj, &c))
			return false;
		if (ops->checkpoint)
			ops->checkpoint(ctx, &c);
	} else if (strcmp(t, "confirmed") == 0 || strcmp(t, "incomplete") == 0) {
		if (!ledger_get_hex(obj, "op", op, sizeof(op)))
			return false;
		if (ops->closed)
			ops->closed(ctx, op, t[0] == 'c');
	}
	return true;
}

int ledger_replay(int fd, const struct ledger_replay_ops *ops, void *ctx, char *errbuf, size_t errlen)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	const char *line;
	size_t len;
	enum line_status st;
	int rc = 0;
	if (!lr) {
		snprintf(errbuf, errlen, "replay: out of memory");
		return -1;
	}
	ledger_line_reader_init(lr, fd);
	while (rc == 0 && (st = ledger_line_next(lr, &line, &len)) == LINE_OK) {
		json_t *obj = ledger_parse_line(line, len, errbuf, errlen);
		if (!obj || !replay_record(obj, ops, ctx)) {
			if (obj)
				snprintf(errbuf, errlen, "line %" PRIu64 ": malformed record", lr->lineno);
			rc = -1;
		}
		json_decref(obj);
	}
	if (rc == 0 && st != LINE_EOF) {
		ledger_line_status_why(st, errbuf, errlen);
		rc = -1;
	}
	free(lr);
	return rc;
}
