/* SPDX-License-Identifier: Apache-2.0 */
/* The walk over a segment's logical records (ledger2_walk.h). */
#define _GNU_SOURCE
#include "ledger2_walk.h"

#include <fcntl.h>
#include <unistd.h>

#include "ledger2_files.h"
#include "ledger2_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
	l2_entry_fn fn;
	void *ctx;
	struct l2_segment_hdr hdr;
	bool have_hdr;
	/* what the segment record states, as l2_entry.start shows it */
	struct l2_segment_start start;
	const char *names[L2_PROVIDERS_MAX];
	struct l2_state states[L2_PROVIDERS_MAX];
	struct l2_uncovered *uncovered[L2_PROVIDERS_MAX];
	size_t uncovered_cap[L2_PROVIDERS_MAX];
	struct l2_carried *carried;
	size_t carried_cap;
	uint8_t (*ops)[WIRE_DIGEST_LEN];
	size_t n_ops, cap;
	struct l2_entry e;
	char *why;
	size_t whylen;
	int stopped; /* fn's value when it stopped the walk */
};

static bool fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->why, w->whylen, fmt, ap);
	va_end(ap);
	return false;
}

/* Room for one more of *n elements of size each in *a. */
static bool grow(void *a, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? 2 * *cap : 64;
	void *p = reallocarray(*(void **)a, c, size);
	if (!p)
		return false;
	*(void **)a = p;
	*cap = c;
	return true;
}

static const uint8_t *resolve(struct walk *w, const struct l2_opref *ref)
{
	if (!ref->is_new)
		return ref->ref < w->n_ops ? w->ops[w->n_ops - 1 - ref->ref] : NULL;
	if (!grow(&w->ops, &w->cap, w->n_ops, sizeof(*w->ops)))
		return NULL;
	memcpy(w->ops[w->n_ops], ref->op, WIRE_DIGEST_LEN);
	return w->ops[w->n_ops++];
}

/* Hands e to fn and moves to the next record number. */
static bool emit(struct walk *w)
{
	int rc = w->fn(w->ctx, &w->e);
	w->e.record++;
	if (rc != 0) {
		w->stopped = rc;
		return false;
	}
	return true;
}

static const char *provider_name(struct walk *w, uint8_t p)
{
	return p < w->hdr.n_providers ? w->hdr.names[p] : NULL;
}

static bool walk_states(struct walk *w, struct l2_cursor *c)
{
	for (size_t i = 0; i < w->hdr.n_providers; i++) {
		struct l2_state *st = &w->states[i];
		struct l2_uncovered *u = NULL;
		if (!l2_get_state(c, st) || st->covered > st->pseq)
			return fail(w, "segment record: malformed state of %s", w->hdr.names[i]);
		for (uint64_t k = 0; k < st->pseq - st->covered; k++) {
			struct l2_opref ref;
			const uint8_t *op;
			if (!grow(&w->uncovered[i], &w->uncovered_cap[i], k, sizeof(*u)))
				return fail(w, "out of memory");
			u = &w->uncovered[i][k];
			if (!l2_get_uncovered_entry(c, &ref, &u->stage) || !(op = resolve(w, &ref)))
				return fail(w, "segment record: malformed uncovered signal of %s", w->hdr.names[i]);
			memcpy(u->op, op, WIRE_DIGEST_LEN);
		}
		st->uncovered = w->uncovered[i];
	}
	return true;
}

static bool walk_segment(struct walk *w, struct l2_cursor *c)
{
	if (!l2_get_segment_hdr(c, &w->hdr))
		return fail(w, "segment record: malformed");
	w->have_hdr = true;
	if (!walk_states(w, c))
		return false;
	uint32_t n;
	if (!l2_get_u32(c, &n))
		return fail(w, "segment record: malformed");
	for (uint32_t k = 0; k < n; k++) {
		struct l2_opref ref;
		const uint8_t *op;
		if (!grow(&w->carried, &w->carried_cap, k, sizeof(*w->carried)))
			return fail(w, "out of memory");
		struct l2_carried *e = &w->carried[k];
		if (!l2_get_carried_entry(c, &ref, &e->confirmed, &e->start_mask, &e->complete_mask) ||
		    !(op = resolve(w, &ref)))
			return fail(w, "segment record: malformed carried operation");
		memcpy(e->op, op, WIRE_DIGEST_LEN);
	}
	if (c->p != c->end)
		return fail(w, "segment record: trailing bytes");
	for (size_t i = 0; i < w->hdr.n_providers; i++)
		w->names[i] = w->hdr.names[i];
	w->start = (struct l2_segment_start){ .segment = w->hdr.segment, .first_record = w->hdr.first_record,
					      .n_providers = w->hdr.n_providers, .names = w->names,
					      .states = w->states, .n_carried = n, .carried = w->carried };
	memcpy(w->start.prev, w->hdr.prev, WIRE_DIGEST_LEN);
	w->e.start = &w->start;
	w->e.segment = w->hdr.segment;
	w->e.record = w->hdr.first_record;
	return emit(w);
}

static bool walk_signals(struct walk *w, struct l2_cursor *c)
{
	struct l2_signals_hdr h;
	if (!l2_get_signals_hdr(c, &h) || !(w->e.provider = provider_name(w, h.p)))
		return fail(w, "signals record: malformed");
	w->e.p = h.p;
	w->e.t = h.t_first;
	for (uint16_t i = 0; i < h.count; i++) {
		struct l2_opref ref;
		int64_t dt;
		if (!l2_get_signal_entry(c, i == 0, &ref, &w->e.stage, &w->e.value, &dt) ||
		    !(w->e.op = resolve(w, &ref)))
			return fail(w, "signals record: malformed signal %u", i + 1);
		w->e.t += (uint64_t)dt;
		w->e.pseq = h.first_pseq + i;
		if (!emit(w))
			return false;
	}
	return c->p == c->end || fail(w, "signals record: trailing bytes");
}

static bool walk_closed(struct walk *w, struct l2_cursor *c)
{
	uint16_t count;
	if (!l2_get_u16(c, &count) || count == 0)
		return fail(w, "closed record: malformed");
	for (uint16_t i = 0; i < count; i++) {
		struct l2_opref ref;
		if (!l2_get_closed_entry(c, &ref, &w->e.mask) || !(w->e.op = resolve(w, &ref)))
			return fail(w, "closed record: malformed entry %u", i + 1);
		if (!emit(w))
			return false;
	}
	return c->p == c->end || fail(w, "closed record: trailing bytes");
}

static bool walk_record(struct walk *w, const struct l2_record *rec, bool first)
{
	struct l2_cursor c = { rec->payload, rec->payload + rec->len };
	struct l2_checkpoint_rec k;
	struct l2_head_rec h;
	char reason[L2_REASON_MAX + 1];
	uint8_t p;
	if (first != (rec->type == L2_SEGMENT))
		return fail(w, first ? "the file does not begin with a segment record" : "a second segment record");
	struct l2_entry keep = w->e;
	w->e = (struct l2_entry){ .type = rec->type, .segment = keep.segment, .record = keep.record,
				  .block = keep.block, .block_off = keep.block_off, .block_t = keep.block_t,
				  .hdr = &w->hdr };
	switch (rec->type) {
	case L2_SEGMENT:
		return walk_segment(w, &c);
	case L2_SIGNALS:
		return walk_signals(w, &c);
	case L2_CONFIRMED:
	case L2_INCOMPLETE:
		return walk_closed(w, &c);
	case L2_CHECKPOINT:
		if (!l2_get_checkpoint(&c, &k) || c.p != c.end || !(w->e.provider = provider_name(w, k.p)))
			return fail(w, "checkpoint record: malformed");
		w->e.checkpoint = &k;
		w->e.p = k.p;
		w->e.pseq = k.pseq;
		return emit(w);
	case L2_REJECTED:
		if (!l2_get_u8(&c, &p) || !(w->e.provider = provider_name(w, p)) || c.p == c.end ||
		    (size_t)(c.end - c.p) > L2_REASON_MAX)
			return fail(w, "rejected record: malformed");
		memcpy(reason, c.p, (size_t)(c.end - c.p));
		reason[c.end - c.p] = '\0';
		w->e.reason = reason;
		w->e.p = p;
		return emit(w);
	case L2_HEAD:
		if (!l2_get_head(&c, &h) || c.p != c.end)
			return fail(w, "head record: malformed");
		w->e.head = &h;
		return emit(w);
	default:
		return fail(w, "unknown record type %u", rec->type);
	}
}

int l2_walk_fd(int fd, bool torn_ok, l2_entry_fn fn, void *ctx, char *why, size_t whylen)
{
	return l2_walk_fd_blocks(fd, torn_ok, fn, NULL, ctx, NULL, why, whylen);
}

int l2_walk_fd_blocks(int fd, bool torn_ok, l2_entry_fn fn, l2_block_fn block_fn, void *ctx, uint64_t *n_ops,
		      char *why, size_t whylen)
{
	struct walk w = { .fn = fn, .ctx = ctx, .why = why, .whylen = whylen };
	struct l2_reader rd;
	struct l2_block b;
	int first_byte;
	enum l2_read_status st = l2_reader_open(&rd, fd, &first_byte);
	bool ok = st == L2_READ_OK || fail(&w, st == L2_READ_EOF ? "an empty file"
					      : st == L2_READ_IO ? "cannot read" : "not a version 2 segment");
	while (ok && (st = l2_reader_next(&rd, &b)) == L2_READ_OK) {
		struct l2_cursor body = { b.body, b.body + b.body_len };
		struct l2_record rec;
		bool first = rd.blocks == 1;
		w.e.block = rd.blocks;
		w.e.block_off = rd.block_off;
		w.e.block_t = b.t;
		while (ok && body.p != body.end) {
			ok = l2_record_next(&body, &rec) ? walk_record(&w, &rec, first)
							 : fail(&w, "a record overruns its block");
			first = false;
		}
		if (!ok && !w.stopped) {
			char inner[200];
			snprintf(inner, sizeof(inner), "%s", why);
			fail(&w, "block %" PRIu64 " (offset %" PRIu64 "): %s", rd.blocks, rd.block_off, inner);
		}
		if (ok && block_fn && (w.stopped = block_fn(ctx, &b, rd.block_off)) != 0)
			ok = false;
	}
	if (ok && st != L2_READ_EOF && !(st == L2_READ_TORN && torn_ok))
		ok = fail(&w, "%s after block %" PRIu64, st == L2_READ_TORN ? "a torn block"
				      : st == L2_READ_IO ? strerror(errno) : "bytes that are not a block", rd.blocks);
	if (ok && rd.blocks == 0 && !torn_ok)
		ok = fail(&w, "no block after the magic");
	if (n_ops)
		*n_ops = w.n_ops;
	free(w.ops);
	for (size_t i = 0; i < L2_PROVIDERS_MAX; i++)
		free(w.uncovered[i]);
	free(w.carried);
	l2_reader_close(&rd);
	if (w.stopped)
		return w.stopped;
	return ok ? 0 : st == L2_READ_IO ? L2_WALK_UNREADABLE : -1;
}

int l2_walk_ledger(const char *path, l2_entry_fn fn, void *ctx, char *why, size_t whylen)
{
	struct l2_segment_file *files;
	size_t n;
	int rc = l2_segment_files(path, &files, &n, why, whylen);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* the live segment and the spare as listed, open since
		 * (ledger2_files.h); a sealed one by its name */
		int fd = files[i].fd >= 0 ? files[i].fd : open(files[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, whylen, "cannot read %s: %s", files[i].path, strerror(errno));
			rc = L2_WALK_UNREADABLE;
			break;
		}
		rc = l2_walk_fd(fd, i + 1 == n, fn, ctx, why, whylen);
		if (fd != files[i].fd)
			close(fd);
		if (rc < 0) {
			char inner[256];
			snprintf(inner, sizeof(inner), "%s", why);
			snprintf(why, whylen, "%s: %s", files[i].path, inner);
		}
	}
	l2_segment_files_free(files, n);
	return rc;
}

struct type_count {
	const char *type, *provider;
	size_t count;
};

static int count_entry(void *ctx, const struct l2_entry *e)
{
	struct type_count *c = ctx;
	if (strcmp(l2_type_name(e->type), c->type) == 0 &&
	    (!c->provider || (e->provider && strcmp(e->provider, c->provider) == 0)))
		c->count++;
	return 0;
}

size_t l2_count_ledger(const char *path, const char *type, const char *provider)
{
	struct type_count c = { type, provider, 0 };
	char why[256];
	(void)l2_walk_ledger(path, count_entry, &c, why, sizeof(why));
	return c.count;
}
