/* SPDX-License-Identifier: Apache-2.0 */
/* The payload of one NATS message of a lane (a batch): its channel
 * messages as records, [u32 little-endian length][bytes], back to back.
 * An out lane writes them (batch_put), an in lane reads them (batch_next)
 * from bytes another host published. Pure functions of memory: no libnats,
 * no I/O, so the decoder is fuzzed and unit tested alone
 * (tests/fuzz/fuzz_bridge_batch.c, tests/unit/test_bridge_batch.c). */
#ifndef MPBS_BRIDGE_BATCH_H
#define MPBS_BRIDGE_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* The length before each record's bytes. */
#define BATCH_HEAD_BYTES 4u

enum batch_step {
	BATCH_RECORD,    /* one more record */
	BATCH_END,       /* the payload ended exactly after the last record */
	BATCH_MALFORMED, /* the bytes at off are not a whole record */
};

/* A read position in a payload; off is where the next record begins. */
struct batch_iter {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len);

/* The next record: BATCH_RECORD with *rec (inside the payload) and
 * *rec_len, it->off moved past it; BATCH_END once it->off is the payload's
 * end; BATCH_MALFORMED when fewer than BATCH_HEAD_BYTES remain or the
 * length reaches past the end: it->off stays at that record, so it says
 * where, and every later call answers the same. */
enum batch_step batch_next(struct batch_iter *it, const uint8_t **rec, uint32_t *rec_len);

/* Appends the record of len bytes at rec to buf, which holds used of cap
 * bytes. Returns the new used, or 0 (buf untouched) when it does not fit. */
size_t batch_put(uint8_t *buf, size_t cap, size_t used, const uint8_t *rec, uint32_t len);

#endif
