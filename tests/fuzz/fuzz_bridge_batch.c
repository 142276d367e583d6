/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: batch_next (bridge/batch.h) splits a stream message
 * that another host's bridge published, or anyone holding its NATS
 * password, into channel messages. Every record must lie inside the
 * input, each record must start where the last ended (offsets strictly
 * increasing), a stop must be the end or a record that is really cut
 * short, and the records put back with batch_put must give exactly the
 * prefix that was accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t head_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The stop is honest: the end, or fewer bytes left than the record at
 * off says it has. */
static void check_stop(enum batch_step step, const uint8_t *in, size_t size, size_t off)
{
	if (step == BATCH_END && off != size)
		abort();
	if (step == BATCH_MALFORMED &&
	    (off >= size || (size - off >= BATCH_HEAD_BYTES && head_at(in + off) <= size - off - BATCH_HEAD_BYTES)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copies of exactly size bytes, so ASan sees any read past them */
	uint8_t *in = malloc(size ? size : 1);
	uint8_t *again = malloc(size ? size : 1);
	if (!in || !again)
		abort();
	memcpy(in, data, size);
	struct batch_iter it;
	const uint8_t *rec;
	uint32_t n;
	enum batch_step step;
	size_t used = 0;
	batch_iter_init(&it, in, size);
	for (;;) {
		size_t before = it.off;
		step = batch_next(&it, &rec, &n);
		if (step != BATCH_RECORD) {
			if (it.off != before)
				abort();
			break;
		}
		if (rec != in + before + BATCH_HEAD_BYTES || n > size - (before + BATCH_HEAD_BYTES) ||
		    it.off != before + BATCH_HEAD_BYTES + n || it.off <= before)
			abort();
		used = batch_put(again, size, used, rec, n);
		if (used != it.off)
			abort();
	}
	check_stop(step, in, size, it.off);
	/* a stop stays a stop */
	if (batch_next(&it, &rec, &n) != step)
		abort();
	if (memcmp(again, in, it.off) != 0)
		abort();
	free(again);
	free(in);
	return 0;
}
