/* The association's ledger (DESIGN §3 "Ledger"): append with group commit,
 * and offline verification with public keys alone.
 *
 * Both directions stream the file through a bounded line buffer, so neither
 * the association (at start) nor `mpbs-run verify` ever holds the whole file. */
#define _GNU_SOURCE
#include "ledger.h"
#include "sha256.h"

#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "derive.h"

/* Longest line, newline included. Records are a few hundred bytes; a longer
 * line is refused rather than buffered without bound. */
#define LEDGER_LINE_MAX 4096
#define LEDGER_PROVIDERS_MAX 64
/* Operations with covered signals but no confirmed/incomplete record yet.
 * With confirm = K of N, late signals of a confirmed operation are absorbed
 * by the association and never closed by a record, so the verifier forgets
 * the oldest operation beyond this bound (the association's own table,
 * pending_max, is far smaller). Forgetting can only make a later confirmed
 * record fail, never pass. */
#ifndef LEDGER_OPEN_OPS_MAX
#define LEDGER_OPEN_OPS_MAX 1000000
#endif
/* Signals not yet covered by a checkpoint, over all providers. The
 * association stops trusting a provider after checkpoint_every of them, so a
 * genuine file stays far below this. */
#define LEDGER_PENDING_MAX 1000000
#define HEX_DIGEST_LEN (2 * WIRE_DIGEST_LEN)

/* ---------------------------------------------------------------- lines */

enum line_status { LINE_OK, LINE_EOF, LINE_PARTIAL, LINE_TOO_LONG, LINE_IO };

struct line_reader {
	int fd;
	off_t off;            /* file offset of buf[end] */
	size_t start, end;    /* unread bytes are buf[start..end) */
	uint64_t lineno;      /* number of the line last returned (from 1) */
	char buf[2 * LEDGER_LINE_MAX];
};

static void line_reader_init(struct line_reader *lr, int fd)
{
	memset(lr, 0, offsetof(struct line_reader, buf));
	lr->fd = fd;
}

/* Reads more bytes after compacting; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t line_reader_fill(struct line_reader *lr)
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
static enum line_status line_next(struct line_reader *lr, const char **line, size_t *len)
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
		ssize_t n = line_reader_fill(lr);
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
static void line_status_why(enum line_status st, char *why, size_t whylen)
{
	if (st == LINE_PARTIAL)
		snprintf(why, whylen, "partial last line");
	else if (st == LINE_TOO_LONG)
		snprintf(why, whylen, "line longer than %d bytes", LEDGER_LINE_MAX - 1);
	else
		snprintf(why, whylen, "read: %s", strerror(errno));
}

/* ------------------------------------------------------- field readers */

static bool is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Reads a lowercase hex field of exactly n bytes. */
static bool get_hex(json_t *obj, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	return len == 2 * n && is_lower_hex(s, len) && hex_decode(s, len, out, n) == 0;
}

static bool get_uint(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *get_name(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	const char *name = json_string_value(v);
	return wire_provider_name_valid(name) ? name : NULL;
}

/* A list of provider names, sorted bytewise and without duplicates. */
static bool get_names(json_t *obj, const char *key, size_t min, size_t max)
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
static bool check_link(json_t *obj, uint64_t expect_seq, const uint8_t expect_prev[WIRE_DIGEST_LEN],
		       char *why, size_t whylen)
{
	uint64_t seq;
	uint8_t prev[WIRE_DIGEST_LEN];
	if (!get_uint(obj, "seq", &seq)) {
		snprintf(why, whylen, "seq missing or not a non-negative integer");
		return false;
	}
	if (seq != expect_seq) {
		snprintf(why, whylen, "seq is %" PRIu64 ", expected %" PRIu64, seq, expect_seq);
		return false;
	}
	if (!get_hex(obj, "prev", prev, sizeof(prev))) {
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
static json_t *parse_line(const char *line, size_t len, char *why, size_t whylen)
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

/* ----------------------------------------------------------- the writer */

/* Follows the file's own seq/prev chain to its end. */
static int writer_recover(struct ledger_writer *w, char *errbuf, size_t errlen)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	if (!lr) {
		snprintf(errbuf, errlen, "ledger: %s", strerror(errno));
		return -1;
	}
	line_reader_init(lr, w->fd);
	const char *line;
	size_t len;
	enum line_status st;
	int rc = 0;
	while ((st = line_next(lr, &line, &len)) == LINE_OK) {
		char why[200];
		json_t *obj = parse_line(line, len, why, sizeof(why));
		bool ok = obj && check_link(obj, w->seq + 1, w->prev, why, sizeof(why));
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
		line_status_why(st, why, sizeof(why));
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

/* ---------------------------------------------------------- the verifier */

/* A signal accepted into its provider's chain, waiting for a checkpoint. */
struct pending_signal {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t value[WIRE_DIGEST_LEN];
	uint8_t stage;
};

struct provider_track {
	char name[WIRE_PROVIDER_ID_MAX + 1];
	struct chain_state chain;
	bool have_key;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	struct pending_signal *pending;
	size_t npending, cap;
};

/* A covered boundary value of one provider for one operation. */
struct covered_value {
	uint8_t provider; /* index into verifier.prov */
	uint8_t stage;
	uint8_t value[WIRE_DIGEST_LEN];
};

struct op_track {
	uint8_t op[WIRE_DIGEST_LEN];
	size_t n, cap;
	struct covered_value *values;
	struct op_track *older, *newer; /* creation order, for forgetting the oldest */
};

struct verifier {
	ledger_pubkey_fn pubkey;
	void *ctx;
	struct ledger_verify_result *res;
	struct provider_track prov[LEDGER_PROVIDERS_MAX];
	size_t nprov;
	size_t npending;      /* over all providers */
	void *ops;            /* tsearch tree of struct op_track */
	size_t nops;
	struct op_track *oldest, *newest;
	uint64_t seq;
	uint8_t prev[WIRE_DIGEST_LEN];
};

static bool fail(struct verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct verifier *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->res->why, sizeof(v->res->why), fmt, ap);
	va_end(ap);
	return false;
}

static int op_cmp(const void *a, const void *b)
{
	return memcmp(((const struct op_track *)a)->op, ((const struct op_track *)b)->op, WIRE_DIGEST_LEN);
}

static void op_free(void *p)
{
	struct op_track *t = p;
	free(t->values);
	free(t);
}

static struct op_track *op_find(struct verifier *v, const uint8_t op[WIRE_DIGEST_LEN])
{
	struct op_track key;
	memcpy(key.op, op, WIRE_DIGEST_LEN);
	void **node = tfind(&key, &v->ops, op_cmp);
	return node ? *node : NULL;
}

static void op_drop(struct verifier *v, struct op_track *t)
{
	tdelete(t, &v->ops, op_cmp);
	if (t->older)
		t->older->newer = t->newer;
	else
		v->oldest = t->newer;
	if (t->newer)
		t->newer->older = t->older;
	else
		v->newest = t->older;
	op_free(t);
	v->nops--;
}

static struct op_track *op_find_or_add(struct verifier *v, const uint8_t op[WIRE_DIGEST_LEN])
{
	struct op_track *t = op_find(v, op);
	if (t)
		return t;
	if (v->nops >= LEDGER_OPEN_OPS_MAX)
		op_drop(v, v->oldest);
	t = calloc(1, sizeof(*t));
	if (t)
		memcpy(t->op, op, WIRE_DIGEST_LEN);
	if (!t || !tsearch(t, &v->ops, op_cmp)) {
		free(t);
		fail(v, "out of memory");
		return NULL;
	}
	t->older = v->newest;
	if (v->newest)
		v->newest->newer = t;
	else
		v->oldest = t;
	v->newest = t;
	v->nops++;
	return t;
}

static struct covered_value *op_value(struct op_track *t, size_t provider, uint8_t stage)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->values[i].provider == provider && t->values[i].stage == stage)
			return &t->values[i];
	return NULL;
}

/* Records a covered value. As in the association, the first covered value
 * of a provider and stage stands; a duplicate is ignored. */
static bool op_cover(struct verifier *v, size_t provider, const struct pending_signal *s)
{
	struct op_track *t = op_find_or_add(v, s->op);
	if (!t)
		return false;
	if (op_value(t, provider, s->stage))
		return true;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4;
		struct covered_value *vals = reallocarray(t->values, cap, sizeof(*vals));
		if (!vals)
			return fail(v, "out of memory");
		t->values = vals;
		t->cap = cap;
	}
	struct covered_value *cv = &t->values[t->n++];
	cv->provider = (uint8_t)provider;
	cv->stage = s->stage;
	memcpy(cv->value, s->value, WIRE_DIGEST_LEN);
	return true;
}

static struct provider_track *provider_find(struct verifier *v, const char *name)
{
	for (size_t i = 0; i < v->nprov; i++)
		if (strcmp(v->prov[i].name, name) == 0)
			return &v->prov[i];
	return NULL;
}

static struct provider_track *provider_get(struct verifier *v, const char *name)
{
	struct provider_track *p = provider_find(v, name);
	if (p)
		return p;
	if (v->nprov == LEDGER_PROVIDERS_MAX) {
		fail(v, "more than %d providers", LEDGER_PROVIDERS_MAX);
		return NULL;
	}
	p = &v->prov[v->nprov++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	chain_init(&p->chain);
	return p;
}

/* Checks that obj has exactly seq, prev, type and these keys. */
static bool has_exact_keys(json_t *obj, size_t nfields)
{
	return json_object_size(obj) == 3 + nfields;
}

static bool pending_push(struct verifier *v, struct provider_track *p, const struct signal_frame *s)
{
	if (v->npending >= LEDGER_PENDING_MAX)
		return fail(v, "too many signals without a checkpoint");
	if (p->npending == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct pending_signal *arr = reallocarray(p->pending, cap, sizeof(*arr));
		if (!arr)
			return fail(v, "out of memory");
		p->pending = arr;
		p->cap = cap;
	}
	struct pending_signal *ps = &p->pending[p->npending++];
	memcpy(ps->op, s->op, WIRE_DIGEST_LEN);
	memcpy(ps->value, s->value, WIRE_DIGEST_LEN);
	ps->stage = s->stage;
	v->npending++;
	return true;
}

/* Signals that no checkpoint of their epoch will ever cover. */
static void pending_abandon(struct verifier *v, struct provider_track *p)
{
	v->res->uncovered += p->npending;
	v->npending -= p->npending;
	p->npending = 0;
}

static bool read_signal(json_t *obj, struct signal_frame *s)
{
	const char *name = get_name(obj, "provider");
	json_t *stage = json_object_get(obj, "stage");
	if (!has_exact_keys(obj, 7) || !name || !json_is_string(stage))
		return false;
	memset(s, 0, sizeof(*s));
	snprintf(s->provider, sizeof(s->provider), "%s", name);
	if (strcmp(json_string_value(stage), "START") == 0)
		s->stage = STAGE_START;
	else if (strcmp(json_string_value(stage), "COMPLETE") == 0)
		s->stage = STAGE_COMPLETE;
	else
		return false;
	return get_hex(obj, "op", s->op, sizeof(s->op)) && get_hex(obj, "value", s->value, sizeof(s->value)) &&
	       get_uint(obj, "t", &s->t_ns) && get_uint(obj, "pseq", &s->seq) &&
	       get_hex(obj, "chain", s->chain, sizeof(s->chain));
}

static bool verify_signal(struct verifier *v, json_t *obj)
{
	struct signal_frame s;
	if (!read_signal(obj, &s))
		return fail(v, "signal: missing, extra or malformed field");
	struct provider_track *p = provider_get(v, s.provider);
	if (!p)
		return false;
	const char *why = "rejected";
	if (!chain_accept_signal(&p->chain, &s, &why))
		return fail(v, "provider %s: %s (seq %" PRIu64 ")", s.provider, why, s.seq);
	v->res->signals++;
	return pending_push(v, p, &s);
}

static bool read_checkpoint(json_t *obj, struct checkpoint_frame *c)
{
	const char *name = get_name(obj, "provider");
	if (!has_exact_keys(obj, 5) || !name)
		return false;
	memset(c, 0, sizeof(*c));
	snprintf(c->provider, sizeof(c->provider), "%s", name);
	return get_hex(obj, "epoch", c->epoch, sizeof(c->epoch)) && get_uint(obj, "pseq", &c->seq) &&
	       get_hex(obj, "head", c->head, sizeof(c->head)) && get_hex(obj, "sig", c->sig, sizeof(c->sig));
}

/* A verified checkpoint covers every pending signal of its epoch up to its
 * seq; one that opens an epoch abandons what the old epoch left pending. */
static bool cover_pending(struct verifier *v, struct provider_track *p, const struct checkpoint_frame *c)
{
	if (c->seq == 0) {
		pending_abandon(v, p);
		return true;
	}
	size_t provider = (size_t)(p - v->prov);
	for (size_t i = 0; i < p->npending; i++)
		if (!op_cover(v, provider, &p->pending[i]))
			return false;
	v->npending -= p->npending;
	p->npending = 0;
	return true;
}

static bool verify_checkpoint(struct verifier *v, json_t *obj)
{
	struct checkpoint_frame c;
	if (!read_checkpoint(obj, &c))
		return fail(v, "checkpoint: missing, extra or malformed field");
	struct provider_track *p = provider_get(v, c.provider);
	if (!p)
		return false;
	if (!p->have_key && !v->pubkey(v->ctx, c.provider, p->pk))
		return fail(v, "checkpoint of %s: unknown provider", c.provider);
	p->have_key = true;
	const char *why = "rejected";
	if (!chain_accept_checkpoint(&p->chain, &c, p->pk, &why))
		return fail(v, "checkpoint of %s: %s", c.provider, why);
	v->res->checkpoints++;
	return cover_pending(v, p, &c);
}

static bool verify_confirmed(struct verifier *v, json_t *obj)
{
	uint8_t op[WIRE_DIGEST_LEN], linkage[WIRE_DIGEST_LEN], expect[WIRE_DIGEST_LEN];
	uint64_t t;
	if (!has_exact_keys(obj, 4) || !get_hex(obj, "op", op, sizeof(op)) ||
	    !get_hex(obj, "linkage", linkage, sizeof(linkage)) || !get_uint(obj, "t", &t) ||
	    !get_names(obj, "providers", 1, LEDGER_PROVIDERS_MAX))
		return fail(v, "confirmed: missing, extra or malformed field (providers sorted, unique)");
	json_t *names = json_object_get(obj, "providers");
	struct op_track *track = op_find(v, op);
	struct linkage_part parts[LEDGER_PROVIDERS_MAX];
	size_t n = json_array_size(names);
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(names, i));
		struct provider_track *p = provider_find(v, name);
		size_t idx = p ? (size_t)(p - v->prov) : 0;
		struct covered_value *start = p && track ? op_value(track, idx, STAGE_START) : NULL;
		struct covered_value *complete = p && track ? op_value(track, idx, STAGE_COMPLETE) : NULL;
		if (!start || !complete)
			return fail(v, "confirmed: provider %s has no covered START and COMPLETE", name);
		parts[i].provider = p->name;
		memcpy(parts[i].start, start->value, WIRE_DIGEST_LEN);
		memcpy(parts[i].complete, complete->value, WIRE_DIGEST_LEN);
	}
	derive_linkage(op, parts, n, expect);
	if (sodium_memcmp(expect, linkage, sizeof(expect)) != 0)
		return fail(v, "confirmed: linkage mismatch");
	op_drop(v, track);
	v->res->confirmed++;
	return true;
}

/* The association forgets an expired operation when it records it
 * incomplete, so the verifier forgets it too: that bounds its memory. */
static bool verify_incomplete(struct verifier *v, json_t *obj)
{
	uint8_t op[WIRE_DIGEST_LEN];
	uint64_t t;
	if (!has_exact_keys(obj, 3) || !get_hex(obj, "op", op, sizeof(op)) || !get_uint(obj, "t", &t) ||
	    !get_names(obj, "providers", 0, LEDGER_PROVIDERS_MAX))
		return fail(v, "incomplete: missing, extra or malformed field (providers sorted, unique)");
	struct op_track *track = op_find(v, op);
	if (track)
		op_drop(v, track);
	v->res->incomplete++;
	return true;
}

static bool verify_rejected(struct verifier *v, json_t *obj)
{
	uint64_t t;
	if (!has_exact_keys(obj, 3) || !get_name(obj, "provider") ||
	    !json_is_string(json_object_get(obj, "reason")) || !get_uint(obj, "t", &t))
		return fail(v, "rejected: missing, extra or malformed field");
	v->res->rejected++;
	return true;
}

static bool verify_record(struct verifier *v, json_t *obj)
{
	json_t *type = json_object_get(obj, "type");
	if (!json_is_string(type))
		return fail(v, "type missing or not a string");
	const char *t = json_string_value(type);
	if (strcmp(t, "signal") == 0)
		return verify_signal(v, obj);
	if (strcmp(t, "checkpoint") == 0)
		return verify_checkpoint(v, obj);
	if (strcmp(t, "confirmed") == 0)
		return verify_confirmed(v, obj);
	if (strcmp(t, "incomplete") == 0)
		return verify_incomplete(v, obj);
	if (strcmp(t, "rejected") == 0)
		return verify_rejected(v, obj);
	return fail(v, "unknown record type");
}

static bool verify_line(struct verifier *v, const char *line, size_t len)
{
	json_t *obj = parse_line(line, len, v->res->why, sizeof(v->res->why));
	if (!obj)
		return false;
	bool ok = check_link(obj, v->seq + 1, v->prev, v->res->why, sizeof(v->res->why)) &&
		  verify_record(v, obj);
	json_decref(obj);
	if (!ok)
		return false;
	v->seq++;
	sha256_of(v->prev, line, len);
	v->res->records++;
	return true;
}

static bool verify_stream(struct verifier *v, struct line_reader *lr)
{
	const char *line;
	size_t len;
	enum line_status st;
	while ((st = line_next(lr, &line, &len)) == LINE_OK) {
		if (!verify_line(v, line, len)) {
			v->res->bad_line = lr->lineno;
			return false;
		}
	}
	if (st != LINE_EOF) {
		v->res->bad_line = lr->lineno;
		line_status_why(st, v->res->why, sizeof(v->res->why));
		return false;
	}
	for (size_t i = 0; i < v->nprov; i++)
		pending_abandon(v, &v->prov[i]);
	return true;
}

bool ledger_verify(int fd, ledger_pubkey_fn pubkey, void *ctx, struct ledger_verify_result *res)
{
	memset(res, 0, sizeof(*res));
	struct verifier *v = calloc(1, sizeof(*v));
	struct line_reader *lr = malloc(sizeof(*lr));
	bool ok = false;
	if (!v || !lr || sodium_init() < 0) {
		snprintf(res->why, sizeof(res->why), "cannot start the verifier: out of memory");
		res->bad_line = 0;
		goto out;
	}
	v->pubkey = pubkey;
	v->ctx = ctx;
	v->res = res;
	line_reader_init(lr, fd);
	ok = verify_stream(v, lr);
	for (size_t i = 0; i < v->nprov; i++)
		free(v->prov[i].pending);
	tdestroy(v->ops, op_free);
out:
	free(lr);
	free(v);
	return ok;
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
		if (!read_signal(obj, &s))
			return false;
		if (ops->signal)
			ops->signal(ctx, &s);
	} else if (strcmp(t, "checkpoint") == 0) {
		if (!read_checkpoint(obj, &c))
			return false;
		if (ops->checkpoint)
			ops->checkpoint(ctx, &c);
	} else if (strcmp(t, "confirmed") == 0 || strcmp(t, "incomplete") == 0) {
		if (!get_hex(obj, "op", op, sizeof(op)))
			return false;
		if (ops->closed)
			ops->closed(ctx, op);
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
	line_reader_init(lr, fd);
	while (rc == 0 && (st = line_next(lr, &line, &len)) == LINE_OK) {
		json_t *obj = parse_line(line, len, errbuf, errlen);
		if (!obj || !replay_record(obj, ops, ctx)) {
			if (obj)
				snprintf(errbuf, errlen, "line %" PRIu64 ": malformed record", lr->lineno);
			rc = -1;
		}
		json_decref(obj);
	}
	if (rc == 0 && st != LINE_EOF) {
		line_status_why(st, errbuf, errlen);
		rc = -1;
	}
	free(lr);
	return rc;
}
