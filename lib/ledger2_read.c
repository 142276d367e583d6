/* SPDX-License-Identifier: Apache-2.0 */
/* A segment file read block by block (ledger2_read.h). The buffer holds the
 * largest block a file may have plus one read's worth, so a block always
 * fits whole; what is left of a read is moved to the front before the next. */
#define _GNU_SOURCE
#include "ledger2_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define L2_READ_CHUNK (1u << 20)

int l2_reader_init(struct l2_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = L2_BLOCK_HDR_LEN + L2_BLOCK_BODY_MAX + L2_READ_CHUNK;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return -1;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

void l2_reader_free(struct l2_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Reads more after what the buffer holds. Returns bytes read (0 at end of
 * file), or -1. */
static ssize_t fill(struct l2_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->buf_off += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		r->end += (size_t)n;
		if (n == 0)
			r->eof = true;
		else if (r->progress)
			atomic_fetch_add_explicit(r->progress, (uint64_t)n, memory_order_relaxed);
		return n;
	}
}

static enum l2_file_kind kind_of(const uint8_t *p, size_t n)
{
	if (n == 0)
		return L2_FILE_EMPTY;
	if (p[0] == '{')
		return L2_FILE_V1;
	if (n >= L2_MAGIC_LEN && memcmp(p, L2_MAGIC, L2_MAGIC_LEN) == 0)
		return L2_FILE_V2;
	return L2_FILE_OTHER;
}

int l2_reader_start(struct l2_reader *r, enum l2_file_kind *kind)
{
	while (!r->eof && r->end < L2_MAGIC_LEN)
		if (fill(r) < 0)
			return -1;
	*kind = kind_of(r->buf, r->end);
	if (*kind == L2_FILE_V2)
		r->start = L2_MAGIC_LEN;
	return 0;
}

enum l2_read_status l2_reader_next(struct l2_reader *r, struct l2_block *b)
{
	for (;;) {
		size_t avail = r->end - r->start;
		enum l2_block_status st =
			avail ? l2_block_parse(r->buf + r->start, avail, b) : L2_BLOCK_SHORT;
		if (st == L2_BLOCK_OK) {
			r->block_no++;
			r->block_off = r->buf_off + r->start;
			r->start += b->len;
			return L2_READ_OK;
		}
		if (st == L2_BLOCK_BAD) {
			r->block_off = r->buf_off + r->start;
			r->block_no++;
			return L2_READ_BAD;
		}
		if (r->eof) {
			r->block_off = r->buf_off + r->start;
			if (avail == 0)
				return L2_READ_END;
			r->block_no++;
			return L2_READ_TORN;
		}
		if (fill(r) < 0)
			return L2_READ_IO;
	}
}

int l2_file_peek(int fd, enum l2_file_kind *kind, uint32_t *segment)
{
	uint8_t head[L2_SEGMENT_NUMBER_OFF + 4];
	ssize_t n;
	do
		n = pread(fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	*segment = 0;
	*kind = kind_of(head, (size_t)n);
	if (*kind == L2_FILE_V2 && (size_t)n == sizeof(head))
		*segment = (uint32_t)head[L2_SEGMENT_NUMBER_OFF] << 24 | (uint32_t)head[L2_SEGMENT_NUMBER_OFF + 1] << 16 |
			   (uint32_t)head[L2_SEGMENT_NUMBER_OFF + 2] << 8 | head[L2_SEGMENT_NUMBER_OFF + 3];
	return 0;
}
