/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger's version 2 decoder (docs/LEDGER.md): the streaming block
 * reader and the readers of records and their entries, each refusing to
 * read past the bytes it was given. The encoder is ledger2_write.c. */
#define _GNU_SOURCE
#include "ledger2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ decoding */

const uint8_t *l2_take(struct l2_cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return NULL;
	const uint8_t *p = c->p;
	c->p += n;
	return p;
}

static bool get_be(struct l2_cursor *c, size_t n, uint64_t *v)
{
	const uint8_t *p = l2_take(c, n);
	if (!p)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | p[i];
	*v = x;
	return true;
}

bool l2_get_u8(struct l2_cursor *c, uint8_t *v)
{
	uint64_t x;
	if (!get_be(c, 1, &x))
		return false;
	*v = (uint8_t)x;
	return true;
}

bool l2_get_u16(struct l2_cursor *c, uint16_t *v)
{
	uint64_t x;
	if (!get_be(c, 2, &x))
		return false;
	*v = (uint16_t)x;
	return true;
}

bool l2_get_u32(struct l2_cursor *c, uint32_t *v)
{
	uint64_t x;
	if (!get_be(c, 4, &x))
		return false;
	*v = (uint32_t)x;
	return true;
}

bool l2_get_u64(struct l2_cursor *c, uint64_t *v)
{
	return get_be(c, 8, v);
}

bool l2_get_varint(struct l2_cursor *c, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (c->p == c->end)
			return false;
		uint8_t b = *c->p++;
		if (i == 9 && b > 1)
			return false; /* beyond 64 bits */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return false; /* a superfluous zero group */
			*v = x;
			return true;
		}
	}
	return false;
}

bool l2_get_bytes(struct l2_cursor *c, void *out, size_t n)
{
	const uint8_t *p = l2_take(c, n);
	if (!p)
		return false;
	memcpy(out, p, n);
	return true;
}

enum l2_block_status l2_block_parse(const uint8_t *buf, size_t avail, struct l2_block *b)
{
	if (avail >= 1 && buf[0] != L2_BLOCK_MARKER)
		return L2_BLOCK_BAD;
	if (avail < L2_BLOCK_HDR_LEN)
		return L2_BLOCK_SHORT;
	struct l2_cursor c = { buf + 1, buf + L2_BLOCK_HDR_LEN };
	uint64_t t = 0, body = 0;
	get_be(&c, 8, &t);
	get_be(&c, 4, &body);
	if (body < L2_BLOCK_BODY_MIN || body > L2_BLOCK_BODY_MAX)
		return L2_BLOCK_BAD;
	if (avail - L2_BLOCK_HDR_LEN < body)
		return L2_BLOCK_SHORT;
	*b = (struct l2_block){ .t = t, .start = buf, .len = L2_BLOCK_HDR_LEN + body,
				.body = buf + L2_BLOCK_HDR_LEN, .body_len = body };
	return L2_BLOCK_OK;
}

/* Reads more of the file after buf[end]; returns bytes read, 0 at EOF,
 * -1 on error. The unread part moves to the front; the buffer grows when
 * `need` bytes from start would not fit. */
static ssize_t reader_fill(struct l2_reader *r, size_t need)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (need > r->cap || r->cap - r->end < 65536) {
		size_t cap = r->cap ? r->cap : (1u << 20);
		while (cap < need || cap - r->end < 65536)
			cap *= 2;
		uint8_t *buf = realloc(r->buf, cap);
		if (!buf) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = buf;
		r->cap = cap;
	}
	ssize_t n;
	do
		n = pread(r->fd, r->buf + r->end, r->cap - r->end, (off_t)r->off);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->end += (size_t)n;
		r->off += (uint64_t)n;
	}
	return n;
}

enum l2_read_status l2_reader_open(struct l2_reader *r, int fd, int *first)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	*first = -1;
	while (r->end < L2_MAGIC_LEN) {
		ssize_t n = reader_fill(r, L2_MAGIC_LEN);
		if (n < 0)
			return L2_READ_IO;
		if (n == 0)
			break;
	}
	if (r->end > 0)
		*first = r->buf[0];
	if (r->end == 0)
		return L2_READ_EOF;
	if (r->end < L2_MAGIC_LEN || memcmp(r->buf, L2_MAGIC, L2_MAGIC_LEN) != 0)
		return L2_READ_BAD;
	r->start = L2_MAGIC_LEN;
	return L2_READ_OK;
}

enum l2_read_status l2_reader_next(struct l2_reader *r, struct l2_block *b)
{
	size_t need = L2_BLOCK_HDR_LEN;
	for (;;) {
		enum l2_block_status st = l2_block_parse(r->buf + r->start, r->end - r->start, b);
		if (st == L2_BLOCK_OK) {
			r->block_off = r->off - (r->end - r->start);
			r->start += b->len;
			r->blocks++;
			return L2_READ_OK;
		}
		if (st == L2_BLOCK_BAD)
			return L2_READ_BAD;
		if (r->end - r->start >= L2_BLOCK_HDR_LEN) {
			uint64_t body = 0;
			for (size_t i = 9; i < L2_BLOCK_HDR_LEN; i++)
				body = body << 8 | r->buf[r->start + i];
			need = L2_BLOCK_HDR_LEN + body;
		}
		ssize_t n = reader_fill(r, need);
		if (n < 0)
			return L2_READ_IO;
		if (n == 0)
			return r->end == r->start ? L2_READ_EOF : L2_READ_TORN;
	}
}

void l2_reader_close(struct l2_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

bool l2_record_next(struct l2_cursor *body, struct l2_record *r)
{
	uint8_t type;
	uint32_t len;
	if (!l2_get_u8(body, &type) || !l2_get_u32(body, &len))
		return false;
	const uint8_t *p = l2_take(body, len);
	if (!p)
		return false;
	*r = (struct l2_record){ .type = type, .payload = p, .len = len };
	return true;
}

/* x:varint whose low `shift` bits are flags, the one below `shift` the
 * `new` flag; then the id when new. */
static bool get_opref(struct l2_cursor *c, unsigned shift, struct l2_opref *op, uint64_t *low)
{
	uint64_t x;
	if (!l2_get_varint(c, &x))
		return false;
	op->is_new = (x >> (shift - 1)) & 1;
	op->ref = x >> shift;
	*low = x & ((1u << (shift - 1)) - 1);
	op->op = NULL;
	if (op->is_new) {
		if (op->ref != 0)
			return false; /* a new id carries no reference */
		op->op = l2_take(c, WIRE_DIGEST_LEN);
		return op->op != NULL;
	}
	return true;
}

bool l2_get_signal_entry(struct l2_cursor *c, bool first, struct l2_opref *op, uint8_t *stage,
			 const uint8_t **value, int64_t *dt)
{
	uint64_t low, z = 0;
	if (!get_opref(c, 2, op, &low))
		return false;
	*stage = low ? STAGE_COMPLETE : STAGE_START;
	if (!(*value = l2_take(c, WIRE_DIGEST_LEN)))
		return false;
	if (!first && !l2_get_varint(c, &z))
		return false;
	*dt = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	return true;
}

bool l2_get_closed_entry(struct l2_cursor *c, struct l2_opref *op, uint64_t *mask)
{
	uint64_t low;
	return get_opref(c, 1, op, &low) && l2_get_varint(c, mask);
}

bool l2_get_uncovered_entry(struct l2_cursor *c, struct l2_opref *op, uint8_t *stage)
{
	uint64_t low;
	if (!get_opref(c, 2, op, &low))
		return false;
	*stage = low ? STAGE_COMPLETE : STAGE_START;
	return true;
}

bool l2_get_carried_entry(struct l2_cursor *c, struct l2_opref *op, bool *confirmed, uint64_t *start_mask,
			  uint64_t *complete_mask)
{
	uint64_t low;
	uint8_t flags;
	if (!get_opref(c, 1, op, &low) || !l2_get_u8(c, &flags) || (flags & ~L2_CARRIED_CONFIRMED))
		return false;
	*confirmed = flags & L2_CARRIED_CONFIRMED;
	return l2_get_varint(c, start_mask) && l2_get_varint(c, complete_mask);
}

bool l2_get_signals_hdr(struct l2_cursor *c, struct l2_signals_hdr *h)
{
	return l2_get_u8(c, &h->p) && l2_get_u64(c, &h->first_pseq) && l2_get_u16(c, &h->count) &&
	       h->count >= 1 && l2_get_u64(c, &h->t_first);
}

bool l2_get_checkpoint(struct l2_cursor *c, struct l2_checkpoint_rec *k)
{
	uint8_t flags;
	if (!l2_get_u8(c, &k->p) || !l2_get_u64(c, &k->pseq) || !l2_get_u8(c, &flags) ||
	    (flags & ~L2_CHECKPOINT_OPENS))
		return false;
	k->opens = flags & L2_CHECKPOINT_OPENS;
	if (k->opens && !l2_get_bytes(c, k->epoch, WIRE_EPOCH_LEN))
		return false;
	return l2_get_bytes(c, k->sig, WIRE_SIG_LEN);
}

bool l2_get_head(struct l2_cursor *c, struct l2_head_rec *h)
{
	uint8_t flags;
	if (!l2_get_u8(c, &flags) || (flags & ~L2_HEAD_SEAL))
		return false;
	h->seal = flags & L2_HEAD_SEAL;
	return l2_get_u64(c, &h->covers) && l2_get_bytes(c, h->chain, WIRE_DIGEST_LEN) &&
	       l2_get_bytes(c, h->sig, WIRE_SIG_LEN);
}

bool l2_get_segment_hdr(struct l2_cursor *c, struct l2_segment_hdr *h)
{
	uint8_t version;
	if (!l2_get_u8(c, &version) || version != L2_VERSION || !l2_get_u32(c, &h->segment) || h->segment == 0 ||
	    !l2_get_u64(c, &h->first_record) || h->first_record == 0 || !l2_get_bytes(c, h->prev, WIRE_DIGEST_LEN) ||
	    !l2_get_u8(c, &h->n_providers) || h->n_providers == 0 || h->n_providers > L2_PROVIDERS_MAX)
		return false;
	for (size_t i = 0; i < h->n_providers; i++) {
		uint8_t n;
		if (!l2_get_u8(c, &n) || n == 0 || n > WIRE_PROVIDER_ID_MAX || !l2_get_bytes(c, h->names[i], n))
			return false;
		h->names[i][n] = '\0';
		if (!wire_provider_name_valid(h->names[i]))
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(h->names[i], h->names[j]) == 0)
				return false;
	}
	return true;
}

bool l2_get_state(struct l2_cursor *c, struct l2_state *s)
{
	uint8_t flags;
	memset(s, 0, sizeof(*s));
	if (!l2_get_u8(c, &flags) || (flags & ~L2_STATE_EPOCH))
		return false;
	s->open = flags & L2_STATE_EPOCH;
	if (!s->open)
		return true;
	return l2_get_bytes(c, s->epoch, WIRE_EPOCH_LEN) && l2_get_u64(c, &s->pseq) &&
	       l2_get_bytes(c, s->head, WIRE_DIGEST_LEN) && l2_get_u64(c, &s->covered) && s->covered <= s->pseq;
}
