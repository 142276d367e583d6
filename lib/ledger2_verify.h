/* SPDX-License-Identifier: Apache-2.0 */
/* The offline verifier of version 2 ledgers (docs/LEDGER.md "What a reader
 * checks"). l2v_segment_check checks one segment file alone, from the start
 * its segment record states (rules 1-7), and leaves the state it computed at
 * the file's end; l2v_ledger_add then joins segments in order: rule 8 (each
 * segment starts exactly where the one before ended) and what holds across
 * the whole ledger (no epoch opened twice, no operation confirmed twice).
 * Segments can be checked in parallel; only l2v_ledger_add is sequential. */
#ifndef MPBS_LEDGER2_VERIFY_H
#define MPBS_LEDGER2_VERIFY_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "ledger.h"
#include "ledger2.h"
#include "op_index.h"

/* checkpoint_every when no topology says it: the largest a topology may. */
#define L2V_CHECKPOINT_EVERY_MAX 65536u
/* Prefix of an operation id that identifies it across segments (two ids
 * sharing it would be a false alarm at odds of 2^-128). */
#define L2V_OP_KEY_LEN 16

struct l2v_opts {
	/* The topology's providers: every segment's table names exactly
	 * these. None (n_providers 0): any provider pubkey knows. */
	size_t n_providers;
	const char *const *providers;
	const uint32_t *checkpoint_every; /* per topology provider; NULL: L2V_CHECKPOINT_EVERY_MAX */
	unsigned confirm_k;               /* 0: the count of a confirmation is not checked */
	ledger_pubkey_fn pubkey;          /* provider public keys */
	void *ctx;
	const uint8_t *association_pk;    /* NULL: heads counted unchecked */
	size_t n_expect;                  /* heads kept elsewhere (at most 32): COVERS:CHAIN */
	const struct ledger_head *expect;
	_Atomic uint64_t *progress;       /* when set, bytes read are added to it */
};

struct l2v_uncovered {
	uint32_t op;   /* in the segment's op index */
	uint8_t stage; /* STAGE_START or STAGE_COMPLETE */
};

/* A provider's chain at a segment's start (as stated) or end (computed). */
struct l2v_chain {
	bool open;
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t pseq, covered;
	uint8_t head[WIRE_DIGEST_LEN];
	struct l2v_uncovered *uncovered; /* pseq - covered of them */
	size_t n_uncovered, cap;
};

struct l2v_carried {
	uint32_t op;
	bool confirmed;
	uint64_t start_mask, complete_mask;
};

/* What the segment knows of one operation. */
#define L2V_OP_CONFIRMED 0x01      /* confirmed: carried so, or by a record here */
#define L2V_OP_CONFIRMED_HERE 0x02 /* by a record of this segment */
struct l2v_op {
	uint64_t start_mask, complete_mask; /* bit p: that stage of provider p covered */
	uint64_t confirmed_at;              /* CONFIRMED_HERE: the record's number */
	uint8_t flags;
};

struct l2v_epoch {
	uint8_t p;
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t record; /* the opening checkpoint's number */
};

struct l2v_segment {
	const char *path;
	bool empty;                /* a file of no byte (a live segment not yet written) */
	/* The start, as the segment record states it. */
	uint32_t segment;
	uint64_t first_record;
	uint8_t prev[WIRE_DIGEST_LEN];
	size_t n_providers;
	char names[L2_PROVIDERS_MAX][WIRE_PROVIDER_ID_MAX + 1];
	struct l2v_chain start[L2_PROVIDERS_MAX];
	struct l2v_carried *carried;
	size_t n_carried;
	/* Counts. records: every record (a signals record as many as it
	 * holds, ...); uncovered: signals dropped uncovered here (a new epoch, a
	 * rejection), those still waiting at the end are in end[]. */
	uint64_t records, signals, checkpoints, confirmed, incomplete, rejected, heads, heads_unchecked, uncovered;
	uint64_t blocks, bytes;
	uint64_t last_record;      /* number of the last record (first_record - 1 + records) */
	/* The end. */
	uint8_t chain[WIRE_DIGEST_LEN]; /* the file chain after the last block */
	bool sealed;
	struct ledger_head last_head;   /* the last head whose signature verified (seq 0: none) */
	struct l2v_chain end[L2_PROVIDERS_MAX];
	struct op_index ops;       /* every operation the segment names, full ids */
	struct l2v_op *op;         /* ops.n of them */
	size_t op_cap;
	uint32_t *refs;            /* operation number in the segment -> index in ops */
	uint64_t n_refs, refs_cap;
	struct l2v_epoch *epochs;  /* epochs opened here */
	size_t n_epochs, epochs_cap;
	uint32_t expect_found;     /* bit i: opts->expect[i] is in this segment and holds */
	/* The first failure. */
	bool failed;
	bool unreadable;           /* an I/O error, or out of memory: no finding about the content */
	uint64_t bad_record, bad_block, bad_offset; /* 0: not known */
	char field[24];
	char why[256];
};

/* Checks the segment file at fd (read from its start) alone. Returns true
 * if it holds; else false with the failure fields set. Either way s must
 * be freed with l2v_segment_free. */
bool l2v_segment_check(int fd, const char *path, const struct l2v_opts *o, struct l2v_segment *s);
void l2v_segment_free(struct l2v_segment *s);
/* Sets s's failure unless one is set (block, offset 0: not known).
 * Returns false. */
bool l2v_vfail(struct l2v_segment *s, uint64_t record, uint64_t block, uint64_t offset, const char *field,
	       const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* The whole ledger, segment after segment. */
struct l2v_ledger {
	const struct l2v_opts *opts;
	struct op_index confirmed;   /* L2V_OP_KEY_LEN prefixes of every operation confirmed */
	struct op_index epochs;      /* provider name (zero-padded) || epoch */
	uint64_t records, signals, checkpoints, confirmed_count, incomplete, rejected, heads, heads_unchecked,
		uncovered, bytes;
	size_t segments;
	uint32_t first_segment;      /* the oldest segment present */
	uint64_t first_record, last_record;
	uint32_t expect_found;
	struct ledger_head last_head;
	const char *last_head_path;  /* the segment that holds it */
};

int l2v_ledger_init(struct l2v_ledger *l, const struct l2v_opts *o);
void l2v_ledger_free(struct l2v_ledger *l);
/* Adds s, checked, after prev (the segment before it, NULL for the oldest
 * present): rule 8 between them, and the checks across the ledger. On a
 * failure returns false with the failure set in s (or in prev, for a
 * segment that should have been sealed). */
bool l2v_ledger_add(struct l2v_ledger *l, struct l2v_segment *prev, struct l2v_segment *s);
/* After the last segment: its uncovered signals are counted, and every
 * expected head must have been found. Returns false with why set. */
bool l2v_ledger_end(struct l2v_ledger *l, const struct l2v_segment *last, char *why, size_t whylen);

#endif
