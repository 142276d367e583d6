/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "ledger2_blocks.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/fsutil.h"
#include "harness.h"

/* Logical records a record holds, and its provider where it has one. */
static bool count_record(struct l2b_record *rec, const struct l2_record *r)
{
	struct l2_cursor c = { r->payload, r->payload + r->len };
	rec->count = 1;
	rec->p = -1;
	switch (r->type) {
	case L2_SIGNALS: {
		struct l2_signals_hdr h;
		if (!l2_get_signals_hdr(&c, &h))
			return false;
		rec->count = h.count;
		rec->p = h.p;
		return true;
	}
	case L2_CONFIRMED:
	case L2_INCOMPLETE: {
		uint16_t n;
		if (!l2_get_u16(&c, &n))
			return false;
		rec->count = n;
		return true;
	}
	case L2_CHECKPOINT:
	case L2_REJECTED: {
		uint8_t p;
		if (!l2_get_u8(&c, &p))
			return false;
		rec->p = p;
		return true;
	}
	default:
		return true;
	}
}

static bool add_block(struct l2b_file *f, const struct l2_block *b, uint64_t *number)
{
	struct l2b_block *blk = &f->blocks[f->n_blocks];
	*blk = (struct l2b_block){ .off = (size_t)(b->start - f->bytes), .len = b->len, .first_rec = f->n_recs };
	struct l2_cursor body = { b->body, b->body + b->body_len };
	struct l2_record r;
	while (body.p < body.end) {
		if (!l2_record_next(&body, &r))
			return false;
		struct l2b_record *rec = reallocarray(f->recs, f->n_recs + 1, sizeof(*f->recs));
		if (!rec)
			return false;
		f->recs = rec;
		rec = &f->recs[f->n_recs++];
		*rec = (struct l2b_record){ .type = r.type, .block = f->n_blocks,
					    .payload = (size_t)(r.payload - f->bytes), .len = r.len };
		if (!count_record(rec, &r))
			return false;
		if (r.type == L2_SEGMENT) {
			struct l2_cursor c = { r.payload, r.payload + r.len };
			if (f->n_recs != 1 || !l2_get_segment_hdr(&c, &f->hdr))
				return false;
			*number = f->hdr.first_record;
		}
		rec->number = *number;
		*number += rec->count;
		blk->records += rec->count;
	}
	blk->n_recs = f->n_recs - blk->first_rec;
	f->n_blocks++;
	return true;
}

int l2b_load(struct l2b_file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->bytes = (uint8_t *)read_file(path, &f->len);
	if (!f->bytes || f->len < L2_MAGIC_LEN || memcmp(f->bytes, L2_MAGIC, L2_MAGIC_LEN) != 0)
		goto fail;
	size_t at = L2_MAGIC_LEN;
	uint64_t number = 0;
	while (at < f->len) {
		struct l2_block b;
		if (l2_block_parse(f->bytes + at, f->len - at, &b) != L2_BLOCK_OK)
			goto fail;
		struct l2b_block *blocks = reallocarray(f->blocks, f->n_blocks + 1, sizeof(*f->blocks));
		if (!blocks)
			goto fail;
		f->blocks = blocks;
		if (!add_block(f, &b, &number))
			goto fail;
		at += b.len;
	}
	if (f->n_recs == 0 || f->recs[0].type != L2_SEGMENT)
		goto fail;
	return 0;
fail:
	l2b_free(f);
	return -1;
}

void l2b_free(struct l2b_file *f)
{
	free(f->bytes);
	free(f->blocks);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

uint64_t l2b_last_record(const struct l2b_file *f)
{
	const struct l2b_record *last = &f->recs[f->n_recs - 1];
	return last->number + last->count - 1;
}

size_t l2b_order(const struct l2b_file *f, size_t *order, size_t skip)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_blocks; i++)
		if (i != skip)
			order[n++] = i;
	return n;
}

struct l2b_pos l2b_position(const struct l2b_file *f, const size_t *order, size_t at)
{
	struct l2b_pos pos = { .record = f->hdr.first_record, .block = at + 1, .offset = L2_MAGIC_LEN };
	for (size_t i = 0; i < at; i++) {
		pos.record += f->blocks[order[i]].records;
		pos.offset += f->blocks[order[i]].len;
	}
	return pos;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int l2b_write(const struct l2b_file *f, const size_t *order, size_t n, bool rechain, const char *path)
{
	size_t cap = L2_MAGIC_LEN;
	for (size_t i = 0; i < n; i++)
		cap += f->blocks[order[i]].len;
	uint8_t *out = malloc(cap), chain[32];
	if (!out)
		return -1;
	memcpy(out, L2_MAGIC, L2_MAGIC_LEN);
	memcpy(chain, f->hdr.prev, sizeof(chain));
	size_t len = L2_MAGIC_LEN;
	uint64_t last = f->hdr.first_record - 1;
	for (size_t i = 0; i < n; i++) {
		const struct l2b_block *b = &f->blocks[order[i]];
		uint8_t *block = out + len;
		memcpy(block, f->bytes + b->off, b->len);
		const struct l2b_record *first = &f->recs[b->first_rec];
		if (rechain && b->n_recs > 0 && first->type == L2_HEAD) {
			/* flags:u8 | covers:u64 | chain | sig */
			uint8_t *head = block + (first->payload - b->off);
			put_be(head + 1, last, 8);
			memcpy(head + 9, chain, sizeof(chain));
		}
		crypto_hash_sha256_state st;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, chain, sizeof(chain));
		crypto_hash_sha256_update(&st, block, b->len);
		crypto_hash_sha256_final(&st, chain);
		last += b->records;
		len += b->len;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -1 : fs_write_all(fd, out, len);
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	free(out);
	return rc;
}

size_t l2b_add_block(struct l2b_file *f, uint64_t t, uint8_t type, const void *payload, size_t len)
{
	size_t block_len = L2_BLOCK_HDR_LEN + L2_RECORD_HDR_LEN + len;
	uint8_t *bytes = realloc(f->bytes, f->len + block_len);
	struct l2b_block *blocks = reallocarray(f->blocks, f->n_blocks + 1, sizeof(*f->blocks));
	if (bytes)
		f->bytes = bytes;
	if (blocks)
		f->blocks = blocks;
	if (!bytes || !blocks)
		return SIZE_MAX;
	uint8_t *b = f->bytes + f->len;
	b[0] = L2_BLOCK_MARKER;
	put_be(b + 1, t, 8);
	put_be(b + 9, L2_RECORD_HDR_LEN + len, 4);
	b[L2_BLOCK_HDR_LEN] = type;
	put_be(b + L2_BLOCK_HDR_LEN + 1, len, 4);
	memcpy(b + L2_BLOCK_HDR_LEN + L2_RECORD_HDR_LEN, payload, len);
	struct l2_block parsed;
	uint64_t unnumbered = 0;
	if (l2_block_parse(b, block_len, &parsed) != L2_BLOCK_OK || !add_block(f, &parsed, &unnumbered))
		return SIZE_MAX;
	f->len += block_len;
	return f->n_blocks - 1;
}

size_t l2b_find(const struct l2b_file *f, size_t from, uint8_t type, int p, bool first_in_block)
{
	for (size_t i = from; i < f->n_recs; i++) {
		const struct l2b_record *r = &f->recs[i];
		if (r->type == type && (p < 0 || r->p == p) && (!first_in_block || f->blocks[r->block].first_rec == i))
			return i;
	}
	return f->n_recs;
}

size_t l2b_signal_value(const struct l2b_file *f, size_t r, unsigned i)
{
	const struct l2b_record *rec = &f->recs[r];
	struct l2_cursor c = { f->bytes + rec->payload, f->bytes + rec->payload + rec->len };
	struct l2_signals_hdr h;
	if (rec->type != L2_SIGNALS || !l2_get_signals_hdr(&c, &h) || i >= h.count)
		return 0;
	for (unsigned k = 0;; k++) {
		struct l2_opref op;
		uint8_t stage;
		const uint8_t *value;
		int64_t dt;
		if (!l2_get_signal_entry(&c, k == 0, &op, &stage, &value, &dt))
			return 0;
		if (k == i)
			return (size_t)(value - f->bytes);
	}
}

size_t l2b_closed_mask(const struct l2b_file *f, size_t r, unsigned i, size_t *len)
{
	const struct l2b_record *rec = &f->recs[r];
	struct l2_cursor c = { f->bytes + rec->payload, f->bytes + rec->payload + rec->len };
	uint16_t count;
	if ((rec->type != L2_CONFIRMED && rec->type != L2_INCOMPLETE) || !l2_get_u16(&c, &count) || i >= count)
		return 0;
	for (unsigned k = 0;; k++) {
		struct l2_opref op;
		uint64_t mask;
		if (!l2_get_closed_entry(&c, &op, &mask))
			return 0;
		if (k != i)
			continue;
		/* the mask is the entry's last varint, in its shortest form */
		*len = 1;
		for (uint64_t v = mask >> 7; v; v >>= 7)
			++*len;
		return (size_t)(c.p - *len - f->bytes);
	}
}
