/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "ledger_damage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "../../lib/fsutil.h"
#include "../../lib/ledger2.h"
#include "../../lib/ledger2_files.h"
#include "../../runner/append_only.h"

int dmg_read(const char *path, struct dmg_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->bytes = (uint8_t *)read_file(path, &s->len);
	if (!s->bytes || s->len < L2_MAGIC_LEN || memcmp(s->bytes, L2_MAGIC, L2_MAGIC_LEN) != 0)
		goto fail;
	size_t cap = 0;
	s->end = L2_MAGIC_LEN;
	for (;;) {
		struct l2_block b;
		enum l2_block_status st = l2_block_parse(s->bytes + s->end, s->len - s->end, &b);
		if (st == L2_BLOCK_SHORT)
			return 0; /* the end of the file, or a torn block */
		if (st == L2_BLOCK_BAD)
			goto fail;
		if (s->n_blocks == cap) {
			cap = cap ? 2 * cap : 64;
			size_t *more = reallocarray(s->block_off, cap, sizeof(*more));
			if (!more)
				goto fail;
			s->block_off = more;
		}
		s->block_off[s->n_blocks++] = s->end;
		s->end += b.len;
	}
fail:
	dmg_free(s);
	return -1;
}

void dmg_free(struct dmg_segment *s)
{
	free(s->bytes);
	free(s->block_off);
	memset(s, 0, sizeof(*s));
}

/* Calls fn on each record of block i until it returns true. */
static bool each_record(const struct dmg_segment *s, size_t i, bool (*fn)(void *ctx, const struct dmg_record *r),
			void *ctx)
{
	struct l2_block b;
	if (l2_block_parse(s->bytes + s->block_off[i], s->end - s->block_off[i], &b) != L2_BLOCK_OK)
		return false;
	struct l2_cursor body = { b.body, b.body + b.body_len };
	const uint8_t *at = body.p;
	struct l2_record rec;
	while (body.p != body.end && l2_record_next(&body, &rec)) {
		struct dmg_record r = { .block = i, .off = (size_t)(at - s->bytes), .len = (size_t)(body.p - at),
					.type = rec.type };
		if (fn(ctx, &r))
			return true;
		at = body.p;
	}
	return false;
}

struct find {
	uint8_t type;
	bool found;
	struct dmg_record r;
};

static bool note_record(void *ctx, const struct dmg_record *r)
{
	struct find *f = ctx;
	if (r->type == f->type) {
		f->r = *r;
		f->found = true;
	}
	return false;
}

bool dmg_last_record(const struct dmg_segment *s, uint8_t type, size_t before, struct dmg_record *r)
{
	for (size_t i = before < s->n_blocks ? before : s->n_blocks; i-- > 0;) {
		struct find f = { .type = type };
		each_record(s, i, note_record, &f);
		if (f.found) {
			*r = f.r;
			return true;
		}
	}
	return false;
}

static bool first_record(void *ctx, const struct dmg_record *r)
{
	*(struct dmg_record *)ctx = *r;
	return true;
}

static bool block_begins_with(const struct dmg_segment *s, size_t i, uint8_t type)
{
	struct dmg_record r;
	return each_record(s, i, first_record, &r) && r.type == type;
}

size_t dmg_last_block_of(const struct dmg_segment *s, uint8_t type)
{
	for (size_t i = s->n_blocks; i-- > 0;)
		if (block_begins_with(s, i, type))
			return i;
	return SIZE_MAX;
}

size_t dmg_first_block_of(const struct dmg_segment *s, uint8_t type, size_t from)
{
	for (size_t i = from; i < s->n_blocks; i++)
		if (block_begins_with(s, i, type))
			return i;
	return SIZE_MAX;
}

uint8_t *dmg_keep_through(const struct dmg_segment *s, const struct dmg_record *r, size_t *len)
{
	size_t block = s->block_off[r->block], end = r->off + r->len;
	uint8_t *out = malloc(end);
	if (!out)
		return NULL;
	memcpy(out, s->bytes, end);
	uint32_t body_len = (uint32_t)(end - block - L2_BLOCK_HDR_LEN);
	for (int i = 0; i < 4; i++)
		out[block + 9 + i] = (uint8_t)(body_len >> (24 - 8 * i));
	*len = end;
	return out;
}

int dmg_copy_ledger(const char *from, const char *to)
{
	struct l2_segment_file *files;
	size_t n, from_len = strlen(from);
	char why[256];
	if (l2_segment_files(from, &files, &n, why, sizeof(why)) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char dst[PATH_MAX];
		size_t len = 0;
		int w = snprintf(dst, sizeof(dst), "%s%s", to, files[i].path + from_len);
		uint8_t *bytes = (uint8_t *)read_file(files[i].path, &len);
		int fd = bytes && w > 0 && (size_t)w < sizeof(dst) ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)
								    : -1;
		if (fd < 0 || fs_write_all(fd, bytes, len) < 0)
			rc = -1;
		if (fd >= 0 && close(fd) < 0)
			rc = -1;
		free(bytes);
	}
	l2_segment_files_free(files, n);
	return rc;
}

off_t dmg_append_torn_block(const char *path, uint32_t body_len, size_t present)
{
	uint8_t buf[L2_BLOCK_HDR_LEN + 256];
	if (present >= body_len || present > sizeof(buf) - L2_BLOCK_HDR_LEN) {
		errno = EINVAL;
		return -1;
	}
	memset(buf, 0x5a, sizeof(buf));
	buf[0] = L2_BLOCK_MARKER;
	for (int i = 0; i < 4; i++)
		buf[9 + i] = (uint8_t)(body_len >> (24 - 8 * i));
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	off_t at = lseek(fd, 0, SEEK_END);
	if (at < 0 || fs_write_all(fd, buf, L2_BLOCK_HDR_LEN + present) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd) < 0 ? -1 : at;
}

int dmg_flip_byte(const char *path, size_t off)
{
	/* an append-only inode is opened for writing only once the flag is off */
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return -1;
	bool append_only = append_only_is_set(ro);
	int rc = append_only && append_only_set(ro, false) < 0 ? -1 : 0;
	int fd = rc < 0 ? -1 : open(path, O_RDWR | O_CLOEXEC);
	uint8_t byte;
	rc = -1;
	if (fd >= 0 && pread(fd, &byte, 1, (off_t)off) == 1) {
		byte ^= 0x01;
		if (pwrite(fd, &byte, 1, (off_t)off) == 1 && fdatasync(fd) == 0)
			rc = 0;
	}
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (append_only && append_only_set(ro, true) < 0)
		rc = -1;
	else
		errno = saved;
	close(ro);
	return rc;
}
