/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "segment_file.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/fsutil.h"
#include "../../lib/ledger2.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* marker, t, body_len, then a record header and filler */
static uint8_t *open_block(struct sf *f, uint8_t type, size_t body_len)
{
	uint8_t *b = f->bytes + f->len;
	b[0] = L2_BLOCK_MARKER;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (uint8_t)(0x17 + i); /* a time */
	put32(b + 9, (uint32_t)body_len);
	uint8_t *rec = b + L2_BLOCK_HDR_LEN;
	rec[0] = type;
	put32(rec + 1, (uint32_t)(body_len - L2_RECORD_HDR_LEN));
	memset(rec + L2_RECORD_HDR_LEN, 0x5a, body_len - L2_RECORD_HDR_LEN);
	f->len += L2_BLOCK_HDR_LEN + body_len;
	f->block_end[f->n_blocks++] = f->len;
	return rec;
}

void sf_begin(struct sf *f, uint32_t number, size_t body_len)
{
	f->len = L2_MAGIC_LEN;
	f->n_blocks = 0;
	memcpy(f->bytes, L2_MAGIC, L2_MAGIC_LEN);
	uint8_t *rec = open_block(f, L2_SEGMENT, body_len);
	rec[L2_RECORD_HDR_LEN] = L2_VERSION;
	put32(rec + L2_RECORD_HDR_LEN + 1, number);
}

void sf_block(struct sf *f, uint8_t type, size_t body_len)
{
	open_block(f, type, body_len);
}

int sf_write(const struct sf *f, size_t len, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = fs_write_all(fd, f->bytes, len);
	close(fd);
	return rc;
}
