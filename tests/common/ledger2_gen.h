/* SPDX-License-Identifier: Apache-2.0 */
/* Version 2 test ledgers written with the association's encoder
 * (lib/ledger2_write.c) as an association would: each provider opens an epoch
 * with a signed checkpoint, signals START and COMPLETE for a batch of
 * operations extending its chain (chain_extend), covers them with a signed
 * checkpoint (checkpoint_sign); the batch is confirmed and a signed head
 * (every head_every records) closes it. When the live segment reaches segment_size at one of the
 * points rotate_phases allows, it is sealed, renamed PATH.NNNNNN, and the
 * next segment starts at PATH from the state reached (open epochs,
 * uncovered signals, operations carried). A fault breaks one rule on
 * purpose. Used by the unit tests and tests/tools/gen_ledger.c. */
#ifndef MPBS_TEST_LEDGER2_GEN_H
#define MPBS_TEST_LEDGER2_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/ledger.h"
#include "../../lib/ledger2.h"

/* Where a rotation may happen. */
#define GEN_AT_SIGNALS 0x1    /* after a provider's signals: it carries uncovered signals */
#define GEN_AT_CHECKPOINT 0x2 /* after a provider's checkpoint: operations carried half covered */
#define GEN_AT_CONFIRMED 0x4  /* after the batch was confirmed: nothing carried */
#define GEN_AT_ANY 0x7

enum gen_fault {
	GEN_VALID,
	GEN_NO_SEAL,       /* the first rotation ends with a plain head, not a seal */
	GEN_CARRIED_MASK,  /* the first segment record that carries an operation states it fully covered */
	GEN_RECONFIRM,     /* the second segment carries the last confirmed operation as unconfirmed and
			    * confirms it again */
	GEN_REOPEN_EPOCH,  /* provider 0 opens a new epoch before the first seal and reopens its first
			    * epoch after it */
};

struct gen_ledger {
	/* Given. */
	const char *path;
	size_t n_providers;      /* 1..L2_PROVIDERS_MAX; named p0, p1, ... */
	uint64_t ops;
	unsigned batch;          /* operations per batch (default 64; 2 signals each, at most 128) */
	uint64_t segment_size;   /* 0: never rotates */
	uint64_t head_every;     /* a signed head after the batch that leaves this many records
				  * unsigned (0: after every batch; the association: 4096) */
	unsigned rotate_phases;  /* GEN_AT_*; 0 means GEN_AT_CONFIRMED */
	enum gen_fault fault;
	uint64_t seed;
	/* Set by gen_ledger_keys from the seed. */
	char names[L2_PROVIDERS_MAX][8];
	uint8_t provider_sk[L2_PROVIDERS_MAX][64], provider_pk[L2_PROVIDERS_MAX][32];
	uint8_t association_sk[64], association_pk[32];
	/* Results. */
	uint32_t segments;       /* files written: PATH.000001 .. and PATH */
	uint64_t records;
	uint64_t confirmed;
	struct ledger_head last_head;
};

/* Keys and names for g->n_providers from g->seed. */
void gen_ledger_keys(struct gen_ledger *g);
/* Writes the ledger (PATH and its sealed segments, which must not exist).
 * Returns 0, or -1 with err set. */
int gen_ledger_write(struct gen_ledger *g, char *err, size_t errlen);
/* The public key of a provider g names (a ledger_pubkey_fn; ctx is g). */
bool gen_ledger_pubkey(void *ctx, const char *provider, uint8_t pk[32]);

#endif
