/* SPDX-License-Identifier: Apache-2.0 */
/* The version 1 writer the tests make version 1 ledgers with
 * (ledger1_write.h). Opening it follows the file's own chain to its end
 * (lib/ledger_read.h). */
#define _GNU_SOURCE
#include "ledger1_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/ledger.h"
#include "../../lib/ledger_read.h"
#include "../../lib/sha256.h"

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

/* ------------------------------------------------------------ signed heads */

int ledger_append_head(struct ledger_writer *w, const uint8_t sk[64])
{
	struct ledger_head h = { .seq = w->seq };
	uint8_t msg[LEDGER_HEAD_MSG_LEN], sig[crypto_sign_BYTES];
	memcpy(h.hash, w->prev, WIRE_DIGEST_LEN);
	ledger_head_message(&h, msg);
	if (crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk) != 0) {
		errno = EINVAL;
		return -1;
	}
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"covers\":");
	ledger_fields_u64(&f, h.seq);
	ledger_fields_text(&f, ",\"head\":\"");
	ledger_fields_hex(&f, h.hash, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"sig\":\"");
	ledger_fields_hex(&f, sig, sizeof(sig));
	ledger_fields_text(&f, "\"");
	return ledger_append_built(w, "head", &f);
}
