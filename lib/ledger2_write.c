/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger's version 2 encoder (docs/LEDGER.md), which the association
 * appends with: it keeps the open block and the open record in its buffer
 * and patches their lengths and counts when they close, so that
 * consecutive signals of one provider, and consecutive closed operations,
 * share one record; and the signed message of a head. The decoder every
 * reader uses is ledger2_read.c. */
#define _GNU_SOURCE
#include "ledger2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "sha256.h"

/* ------------------------------------------------------------ head */

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void l2_head_message(uint64_t covers, const uint8_t chain[WIRE_DIGEST_LEN], uint8_t out[L2_HEAD_MSG_LEN])
{
	memcpy(out, L2_HEAD_DOMAIN, sizeof(L2_HEAD_DOMAIN));
	put_be(out + sizeof(L2_HEAD_DOMAIN), covers, 8);
	memcpy(out + sizeof(L2_HEAD_DOMAIN) + 8, chain, WIRE_DIGEST_LEN);
}

/* ------------------------------------------------------------ buffer */

static int reserve(struct l2_writer *w, size_t more)
{
	if (w->cap - w->len >= more)
		return 0;
	size_t cap = w->cap ? w->cap : 65536;
	while (cap - w->len < more)
		cap *= 2;
	uint8_t *buf = realloc(w->buf, cap);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	w->buf = buf;
	w->cap = cap;
	return 0;
}

/* Appends assume reserve() made room: every entry point reserves the most
 * its record can take first. */
static void put_bytes(struct l2_writer *w, const void *p, size_t n)
{
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_u8(struct l2_writer *w, uint8_t v)
{
	w->buf[w->len++] = v;
}

static void put_uint(struct l2_writer *w, uint64_t v, size_t n)
{
	put_be(w->buf + w->len, v, n);
	w->len += n;
}

static void put_varint(struct l2_writer *w, uint64_t v)
{
	while (v >= 0x80) {
		w->buf[w->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->buf[w->len++] = (uint8_t)v;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* ------------------------------------------------------------ writer */

int l2_writer_init(struct l2_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->block_off = w->rec_off = SIZE_MAX;
	w->opcache = calloc(L2_OPCACHE_SLOTS, sizeof(*w->opcache));
	if (!w->opcache) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void l2_writer_free(struct l2_writer *w)
{
	free(w->buf);
	free(w->opcache);
	w->buf = NULL;
	w->opcache = NULL;
	w->len = w->cap = 0;
}

void l2_opcache_reset(struct l2_writer *w)
{
	memset(w->opcache, 0, L2_OPCACHE_SLOTS * sizeof(*w->opcache));
}

/* An operation as the next entry refers to it: a back reference when this
 * segment introduced it and the cache still knows, else the id in full
 * (which becomes operation n_ops). Returns the flag and sets *ref. */
static bool op_lookup(struct l2_writer *w, const uint8_t op[WIRE_DIGEST_LEN], uint64_t *ref)
{
	uint64_t h;
	memcpy(&h, op, sizeof(h));
	struct l2_opcache_slot *slot = &w->opcache[h & (L2_OPCACHE_SLOTS - 1)];
	if (slot->index_plus1 && memcmp(slot->op, op, WIRE_DIGEST_LEN) == 0) {
		*ref = w->n_ops - slot->index_plus1; /* n_ops - 1 - index */
		return false;
	}
	memcpy(slot->op, op, WIRE_DIGEST_LEN);
	slot->index_plus1 = ++w->n_ops;
	*ref = 0;
	return true;
}

/* x = ref << shift | new << (shift - 1) | low, then the id when new. */
static void put_opref(struct l2_writer *w, const uint8_t op[WIRE_DIGEST_LEN], unsigned shift, uint64_t low)
{
	uint64_t ref;
	bool is_new = op_lookup(w, op, &ref);
	put_varint(w, ref << shift | (uint64_t)is_new << (shift - 1) | low);
	if (is_new)
		put_bytes(w, op, WIRE_DIGEST_LEN);
}

static void open_block(struct l2_writer *w)
{
	if (w->block_off != SIZE_MAX)
		return;
	w->block_off = w->len;
	memset(w->buf + w->len, 0, L2_BLOCK_HDR_LEN);
	w->len += L2_BLOCK_HDR_LEN;
	w->block_records = 0;
}

/* Patches the open record's length (and count, for the kinds that have
 * one) and closes it. */
static void close_record(struct l2_writer *w)
{
	if (w->rec_off == SIZE_MAX)
		return;
	put_be(w->buf + w->rec_off + 1, w->len - w->rec_off - L2_RECORD_HDR_LEN, 4);
	uint8_t *payload = w->buf + w->rec_off + L2_RECORD_HDR_LEN;
	if (w->rec_type == L2_SIGNALS)
		put_be(payload + 1 + 8, w->rec_count, 2);
	else if (w->rec_type == L2_CONFIRMED || w->rec_type == L2_INCOMPLETE)
		put_be(payload, w->rec_count, 2);
	w->rec_off = SIZE_MAX;
}

static void open_record(struct l2_writer *w, uint8_t type)
{
	close_record(w);
	open_block(w);
	w->rec_off = w->len;
	w->rec_type = type;
	w->rec_count = 0;
	put_u8(w, type);
	put_uint(w, 0, 4);
}

void l2_close_block(struct l2_writer *w, uint64_t t)
{
	close_record(w);
	if (w->block_off == SIZE_MAX)
		return;
	size_t body = w->len - w->block_off - L2_BLOCK_HDR_LEN;
	if (body == 0) {
		w->len = w->block_off; /* nothing in it: no block */
		w->block_off = SIZE_MAX;
		return;
	}
	uint8_t *b = w->buf + w->block_off;
	b[0] = L2_BLOCK_MARKER;
	put_be(b + 1, t, 8);
	put_be(b + 9, body, 4);
	sha256_state st;
	sha256_start(&st);
	sha256_add(&st, w->chain, WIRE_DIGEST_LEN);
	sha256_add(&st, b, L2_BLOCK_HDR_LEN + body);
	sha256_end(&st, w->chain);
	w->seg_bytes += L2_BLOCK_HDR_LEN + body;
	if (w->seg_t0 == 0)
		w->seg_t0 = t;
	w->block_off = SIZE_MAX;
}

/* Most bytes one entry point adds: a new record header, the block header,
 * and the entry itself. */
#define ENTRY_MAX (L2_BLOCK_HDR_LEN + L2_RECORD_HDR_LEN + 32 + 2 * WIRE_DIGEST_LEN + WIRE_SIG_LEN + 64)

int l2_signal(struct l2_writer *w, uint8_t p, const struct signal_frame *s)
{
	if (reserve(w, ENTRY_MAX) < 0)
		return -1;
	bool extend = w->rec_off != SIZE_MAX && w->rec_type == L2_SIGNALS && w->rec_p == p &&
		      w->rec_next_pseq == s->seq && w->rec_count < L2_SIGNALS_PER_RECORD;
	if (!extend) {
		open_record(w, L2_SIGNALS);
		w->rec_p = p;
		put_u8(w, p);
		put_uint(w, s->seq, 8);
		put_uint(w, 0, 2); /* count, patched at close */
		put_uint(w, s->t_ns, 8);
	}
	put_opref(w, s->op, 2, s->stage == STAGE_COMPLETE);
	put_bytes(w, s->value, WIRE_DIGEST_LEN);
	if (extend)
		put_varint(w, zigzag((int64_t)(s->t_ns - w->rec_last_t)));
	w->rec_count++;
	w->rec_next_pseq = s->seq + 1;
	w->rec_last_t = s->t_ns;
	w->records++;
	w->block_records++;
	return 0;
}

int l2_checkpoint(struct l2_writer *w, uint8_t p, const struct checkpoint_frame *c, bool opens)
{
	if (reserve(w, ENTRY_MAX) < 0)
		return -1;
	open_record(w, L2_CHECKPOINT);
	put_u8(w, p);
	put_uint(w, c->seq, 8);
	put_u8(w, opens ? L2_CHECKPOINT_OPENS : 0);
	if (opens)
		put_bytes(w, c->epoch, WIRE_EPOCH_LEN);
	put_bytes(w, c->sig, WIRE_SIG_LEN);
	close_record(w);
	w->records++;
	w->block_records++;
	return 0;
}

int l2_closed(struct l2_writer *w, uint8_t type, const uint8_t op[WIRE_DIGEST_LEN], uint64_t mask)
{
	if (type != L2_CONFIRMED && type != L2_INCOMPLETE) {
		errno = EINVAL;
		return -1;
	}
	if (reserve(w, ENTRY_MAX) < 0)
		return -1;
	if (w->rec_off == SIZE_MAX || w->rec_type != type || w->rec_count == UINT16_MAX) {
		open_record(w, type);
		put_uint(w, 0, 2); /* count, patched at close */
	}
	put_opref(w, op, 1, 0);
	put_varint(w, mask);
	w->rec_count++;
	w->records++;
	w->block_records++;
	return 0;
}

int l2_rejected(struct l2_writer *w, uint8_t p, const char *reason)
{
	size_t n = strnlen(reason, L2_REASON_MAX);
	if (reserve(w, ENTRY_MAX + L2_REASON_MAX) < 0)
		return -1;
	open_record(w, L2_REJECTED);
	put_u8(w, p);
	if (n == 0)
		put_u8(w, '?');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)reason[i];
		put_u8(w, ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
	close_record(w);
	w->records++;
	w->block_records++;
	return 0;
}

int l2_head(struct l2_writer *w, const uint8_t sk[64], bool seal, uint64_t t, uint64_t *covers,
	    uint8_t chain[WIRE_DIGEST_LEN])
{
	uint8_t msg[L2_HEAD_MSG_LEN], sig[crypto_sign_BYTES];
	l2_close_block(w, t);
	l2_head_message(w->records, w->chain, msg);
	if (crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (reserve(w, ENTRY_MAX) < 0)
		return -1;
	*covers = w->records;
	memcpy(chain, w->chain, WIRE_DIGEST_LEN);
	open_record(w, L2_HEAD);
	put_u8(w, seal ? L2_HEAD_SEAL : 0);
	put_uint(w, w->records, 8);
	put_bytes(w, w->chain, WIRE_DIGEST_LEN);
	put_bytes(w, sig, sizeof(sig));
	w->records++;
	w->block_records++;
	l2_close_block(w, t);
	return 0;
}

static size_t segment_record_max(const struct l2_segment_start *s)
{
	size_t n = 64 + s->n_providers * (1 + WIRE_PROVIDER_ID_MAX + 1 + WIRE_EPOCH_LEN + 16 + WIRE_DIGEST_LEN);
	for (size_t i = 0; i < s->n_providers; i++)
		if (s->states[i].open)
			n += (size_t)(s->states[i].pseq - s->states[i].covered) * (10 + WIRE_DIGEST_LEN);
	return n + s->n_carried * (10 + WIRE_DIGEST_LEN + 1 + 20);
}

static void put_state(struct l2_writer *w, const struct l2_state *st)
{
	put_u8(w, st->open ? L2_STATE_EPOCH : 0);
	if (!st->open)
		return;
	put_bytes(w, st->epoch, WIRE_EPOCH_LEN);
	put_uint(w, st->pseq, 8);
	put_bytes(w, st->head, WIRE_DIGEST_LEN);
	put_uint(w, st->covered, 8);
	for (uint64_t i = 0; i < st->pseq - st->covered; i++)
		put_opref(w, st->uncovered[i].op, 2, st->uncovered[i].stage == STAGE_COMPLETE);
}

int l2_begin_segment(struct l2_writer *w, int fd, const struct l2_segment_start *s)
{
	if (s->n_providers == 0 || s->n_providers > L2_PROVIDERS_MAX || s->segment == 0 || s->first_record == 0) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < s->n_providers; i++)
		if (s->states[i].open && s->states[i].covered > s->states[i].pseq) {
			errno = EINVAL;
			return -1;
		}
	l2_close_block(w, 0); /* nothing may be open: the caller flushed the last segment */
	if (reserve(w, L2_MAGIC_LEN + L2_BLOCK_HDR_LEN + segment_record_max(s)) < 0)
		return -1;
	w->fd = fd;
	w->segment = s->segment;
	w->records = s->first_record;
	memcpy(w->chain, s->prev, WIRE_DIGEST_LEN);
	w->n_ops = 0;
	w->seg_bytes = L2_MAGIC_LEN;
	w->seg_t0 = 0;
	l2_opcache_reset(w);
	put_bytes(w, L2_MAGIC, L2_MAGIC_LEN);
	open_record(w, L2_SEGMENT);
	put_u8(w, L2_VERSION);
	put_uint(w, s->segment, 4);
	put_uint(w, s->first_record, 8);
	put_bytes(w, s->prev, WIRE_DIGEST_LEN);
	put_u8(w, (uint8_t)s->n_providers);
	for (size_t i = 0; i < s->n_providers; i++) {
		size_t n = strnlen(s->names[i], WIRE_PROVIDER_ID_MAX + 1);
		put_u8(w, (uint8_t)n);
		put_bytes(w, s->names[i], n);
	}
	for (size_t i = 0; i < s->n_providers; i++)
		put_state(w, &s->states[i]);
	put_uint(w, s->n_carried, 4);
	for (size_t i = 0; i < s->n_carried; i++) {
		const struct l2_carried *c = &s->carried[i];
		put_opref(w, c->op, 1, 0);
		put_u8(w, c->confirmed ? L2_CARRIED_CONFIRMED : 0);
		put_varint(w, c->start_mask);
		put_varint(w, c->complete_mask);
	}
	close_record(w);
	w->block_records++;
	return 0;
}

int l2_flush(struct l2_writer *w, uint64_t t)
{
	l2_close_block(w, t);
	size_t off = 0;
	int rc = 0;
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	/* What reached the file is not buffered again (it would be written
	 * twice); what did not stays for the next attempt. */
	if (off > 0 && off < w->len)
		memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
	return rc;
}
