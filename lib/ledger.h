/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger's version 1: JSON Lines, append-only, hash-chained
 * (docs/ARCHITECTURE.md §7). What the verifier and the association share:
 * its heads and the offline verifier (`mpbs-run verify`, with public keys
 * alone); the line and field readers are ledger_read.h. Only the
 * version 2 (lib/ledger2.h) replaced it; the association only writes
 * version 2, and these read version 1 files. */
#ifndef MPBS_LEDGER_H
#define MPBS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Public key of a provider, for offline verification; returns false if the
 * provider is unknown. */
typedef bool (*ledger_pubkey_fn)(void *ctx, const char *provider, uint8_t pk[32]);

/* A point of the file chain: the SHA-256 of line `seq` (without its
 * newline), which every later line's prev depends on. A `head` record
 * signs one; an operator keeps one as SEQ:HASH. */
struct ledger_head {
	uint64_t seq;
	uint8_t hash[WIRE_DIGEST_LEN];
};

/* "SEQ:HASH" (64 lowercase hex digits) to h; false if malformed. */
bool ledger_head_parse(const char *text, struct ledger_head *h);
/* h as "SEQ:HASH" into out (at least LEDGER_HEAD_TEXT_MAX bytes). */
#define LEDGER_HEAD_TEXT_MAX (20 + 1 + 2 * WIRE_DIGEST_LEN + 1)
void ledger_head_format(const struct ledger_head *h, char *out);

/* The signed message: a domain string (with its NUL), SEQ as 8 bytes big
 * endian, HASH. */
#define LEDGER_HEAD_DOMAIN "mpbs-run ledger head v1"
#define LEDGER_HEAD_MSG_LEN (sizeof(LEDGER_HEAD_DOMAIN) + 8 + WIRE_DIGEST_LEN)
void ledger_head_message(const struct ledger_head *h, uint8_t out[LEDGER_HEAD_MSG_LEN]);

/* What verify checks beyond the file's own consistency. Zero fields check
 * nothing more. */
struct ledger_verify_opts {
	ledger_pubkey_fn pubkey;
	void *ctx;
	/* The topology's providers and confirm rule: every record names only
	 * these, and a confirmed record at least confirm_k of them. */
	size_t n_providers;
	const char *const *providers;
	unsigned confirm_k;
	/* The association's public key: every head's signature must verify
	 * (NULL: heads are checked against the chain only, and counted as
	 * unchecked). */
	const uint8_t *association_pk;
	/* Heads kept elsewhere: the ledger must reach each seq with that hash. */
	size_t n_expect;
	const struct ledger_head *expect;
};

struct ledger_verify_result {
	uint64_t records;
	uint64_t confirmed;
	uint64_t signals;
	uint64_t checkpoints;
	uint64_t rejected;
	uint64_t incomplete;
	uint64_t uncovered;       /* signals never covered by a checkpoint (not an error) */
	uint64_t heads;           /* head records whose signature verified */
	uint64_t heads_unchecked; /* head records seen without an association key */
	struct ledger_head last_head; /* the last verified head (seq 0: none) */
	uint64_t last_head_record;    /* seq of the record that signed it */
	uint64_t bad_line;        /* first bad line number (from 1), 0 if none */
	uint64_t bad_seq;         /* the seq that line says it is (0: none readable) */
	char field[24];           /* the field of that record at fault ("" when the line as a whole) */
	char why[256];            /* why: what is wrong with that field (or line) */
	bool unreadable;          /* the file could not be read to the end (an I/O error): not a
				   * finding about its content */
};

/* Checks, from the file's bytes alone plus the public keys: every line is a
 * JSON object with the right fields; seq runs from 1; prev is the hash of the
 * previous line; every provider's signals extend its chain (chain.h rules);
 * every checkpoint's signature verifies and its head matches; every
 * confirmed record's providers each have covered START and COMPLETE signals
 * for its op and its linkage recomputes. Returns true if all holds; otherwise
 * false with bad_line, bad_seq, field and why set. A last line without
 * newline is reported. */
bool ledger_verify(int fd, ledger_pubkey_fn pubkey, void *ctx, struct ledger_verify_result *res);
/* The same with the checks of opts (docs/VERIFY.md). */
bool ledger_verify_with(int fd, const struct ledger_verify_opts *opts, struct ledger_verify_result *res);

#endif
