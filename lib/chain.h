/* SPDX-License-Identifier: Apache-2.0 */
/* One provider's signed signal chain as an observer checks it. Shared by the
 * association (live) and `mpbs-run verify` (offline), so both accept exactly
 * the same histories. */
#ifndef MPBS_CHAIN_H
#define MPBS_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct chain_state {
	bool trusted;                   /* an epoch-opening checkpoint verified, no break since */
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t seq;                   /* seq of the last accepted signal (0 at epoch start) */
	uint8_t head[WIRE_DIGEST_LEN];  /* chain after that signal */
	uint64_t covered_seq;           /* highest seq covered by a verified checkpoint */
	const char *failed_field;       /* the field of the frame the last refusal is about
					 * ("sig", "pseq", ...), as the ledger names it */
};

/* Fresh state: untrusted until an epoch-opening checkpoint. */
void chain_init(struct chain_state *cs);

/* Accepts s if the chain is trusted, s->seq == cs->seq + 1 and
 * s->chain == SHA256(cs->head || canonical(s)); then advances the head.
 * On failure returns false, sets *why, and marks the chain untrusted (a
 * broken chain is not trusted again until the next signed epoch). */
bool chain_accept_signal(struct chain_state *cs, const struct signal_frame *s, const char **why);

/* Accepts a checkpoint whose signature verifies under pk and which either
 *  - opens an epoch: seq == 0 and head == chain origin of its epoch (this
 *    resets the state to that epoch, trusted, whatever came before), or
 *  - covers the current epoch: same epoch, seq == cs->seq, head == cs->head.
 * On success covered_seq = seq. On failure returns false and sets *why; a
 * bad checkpoint within a trusted epoch also marks the chain untrusted. */
bool chain_accept_checkpoint(struct chain_state *cs, const struct checkpoint_frame *c,
			     const uint8_t pk[32], const char **why);

/* Provider side: sets s->chain = SHA256(head || canonical(s)) and head = s->chain. */
void chain_extend(uint8_t head[WIRE_DIGEST_LEN], struct signal_frame *s);

/* Provider side: signs c (its fields other than sig already set) with the
 * Ed25519 secret key sk (libsodium's 64-byte form). */
void checkpoint_sign(struct checkpoint_frame *c, const uint8_t sk[64]);
bool checkpoint_verify(const struct checkpoint_frame *c, const uint8_t pk[32]);

#endif
