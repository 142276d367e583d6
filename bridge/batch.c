/* SPDX-License-Identifier: Apache-2.0 */
#include "batch.h"

#include <string.h>

void batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len)
{
	it->p = p;
	it->len = len;
	it->off = 0;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum batch_step batch_next(struct batch_iter *it, const uint8_t **rec, uint32_t *rec_len)
{
	if (it->off == it->len)
		return BATCH_END;
	/* every bound as a difference from what is left: no sum can wrap */
	size_t left = it->len - it->off;
	if (left < BATCH_HEAD_BYTES)
		return BATCH_MALFORMED;
	uint32_t n = get_le32(it->p + it->off);
	if (n > left - BATCH_HEAD_BYTES)
		return BATCH_MALFORMED;
	*rec = it->p + it->off + BATCH_HEAD_BYTES;
	*rec_len = n;
	it->off += BATCH_HEAD_BYTES + (size_t)n;
	return BATCH_RECORD;
}

size_t batch_put(uint8_t *buf, size_t cap, size_t used, const uint8_t *rec, uint32_t len)
{
	if (used > cap || cap - used < BATCH_HEAD_BYTES || len > cap - used - BATCH_HEAD_BYTES)
		return 0;
	uint8_t *p = buf + used;
	p[0] = (uint8_t)len;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 24);
	if (len > 0)
		memcpy(p + BATCH_HEAD_BYTES, rec, len);
	return used + BATCH_HEAD_BYTES + (size_t)len;
}
