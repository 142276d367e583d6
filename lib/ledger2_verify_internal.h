/* SPDX-License-Identifier: Apache-2.0 */
/* What the two halves of the segment checker share (ledger2_verify.c, the
 * records and blocks; ledger2_verify_segment.c, the segment record and the
 * segment's operations). Nothing else includes this. */
#ifndef MPBS_LEDGER2_VERIFY_INTERNAL_H
#define MPBS_LEDGER2_VERIFY_INTERNAL_H

#include <sodium.h>

#include "ledger2_verify.h"

struct seg_provider {
	struct chain_state cs;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint32_t checkpoint_every;
	struct signal_frame frame;           /* its name set once */
	uint8_t (*known)[WIRE_EPOCH_LEN];    /* epochs it is known to have opened */
	size_t n_known;
};

struct checker {
	const struct l2v_opts *o;
	struct l2v_segment *s;
	int fd;
	struct l2_reader r;
	uint64_t block_no;    /* of the block being read, from 1 */
	uint64_t block_off;   /* its offset */
	uint64_t progressed;  /* bytes reported to opts->progress */
	struct seg_provider prov[L2_PROVIDERS_MAX];
	uint64_t rec;         /* number of the last record taken */
	uint64_t at;          /* number of the record being checked (failures) */
	uint8_t chain[WIRE_DIGEST_LEN];
	bool started;         /* the segment record was read */
	bool after_seal;
};

/* The segment's failure at the record being checked (k->at, its block and
 * offset). Returns false. */
bool l2v_check_fail(struct checker *k, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A failure that says nothing about the content. Returns false. */
bool l2v_out_of_memory(struct checker *k);

/* Every provider bit a mask of this segment may have. */
static inline uint64_t l2v_all_providers(const struct l2v_segment *s)
{
	return s->n_providers >= 64 ? UINT64_MAX : (UINT64_C(1) << s->n_providers) - 1;
}

/* The index of an operation a record names: a new id joins the segment's
 * numbering (and its index, once per distinct id). OP_INDEX_NONE on failure. */
uint32_t l2v_op_resolve(struct checker *k, const struct l2_opref *ref);
bool l2v_uncovered_push(struct checker *k, struct l2v_chain *c, uint32_t op, uint8_t stage);
bool l2v_epoch_remember(struct checker *k, struct seg_provider *sp, const uint8_t epoch[WIRE_EPOCH_LEN]);

/* The segment record (the first of the file): the segment's start, as
 * k->s states it and as k continues from. */
bool l2v_segment_record(struct checker *k, struct l2_cursor *c);

#endif
