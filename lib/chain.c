/* SPDX-License-Identifier: Apache-2.0 */
/* One provider's signed signal chain (rules in chain.h). The observer trusts a
 * chain only from a verified epoch-opening checkpoint on; any break, in a
 * signal or a checkpoint, withdraws that trust until the next signed epoch. */
#include "chain.h"

#include <sodium.h>
#include <string.h>

#include "derive.h"

void chain_init(struct chain_state *cs)
{
	memset(cs, 0, sizeof *cs);
	cs->trusted = false;
}

static bool chain_fail(struct chain_state *cs, const char **why, const char *field, const char *reason)
{
	cs->trusted = false;
	cs->failed_field = field;
	if (why != NULL)
		*why = reason;
	return false;
}

bool chain_accept_signal(struct chain_state *cs, const struct signal_frame *s, const char **why)
{
	if (!cs->trusted)
		return chain_fail(cs, why, "chain", "chain not trusted until the next signed epoch");
	if (cs->seq == UINT64_MAX || s->seq != cs->seq + 1)
		return chain_fail(cs, why, "pseq", "signal seq does not follow the chain");

	uint8_t frame[SIGNAL_FRAME_LEN];
	if (!signal_encode(s, frame))
		return chain_fail(cs, why, "stage", "signal has an invalid provider name or stage");
	uint8_t expect[WIRE_DIGEST_LEN];
	derive_chain_next(cs->head, frame, expect);
	if (memcmp(expect, s->chain, WIRE_DIGEST_LEN) != 0)
		return chain_fail(cs, why, "chain", "signal chain does not extend the provider's head");

	cs->seq = s->seq;
	memcpy(cs->head, s->chain, WIRE_DIGEST_LEN);
	return true;
}

static bool checkpoint_opens_epoch(const struct checkpoint_frame *c)
{
	if (c->seq != 0)
		return false;
	uint8_t origin[WIRE_DIGEST_LEN];
	derive_chain_origin(c->epoch, origin);
	return memcmp(origin, c->head, WIRE_DIGEST_LEN) == 0;
}

static void chain_open_epoch(struct chain_state *cs, const struct checkpoint_frame *c)
{
	cs->trusted = true;
	memcpy(cs->epoch, c->epoch, WIRE_EPOCH_LEN);
	cs->seq = 0;
	memcpy(cs->head, c->head, WIRE_DIGEST_LEN);
	cs->covered_seq = 0;
}

bool chain_accept_checkpoint(struct chain_state *cs, const struct checkpoint_frame *c, const uint8_t pk[32],
			     const char **why)
{
	if (!checkpoint_verify(c, pk))
		return chain_fail(cs, why, "sig", "checkpoint signature does not verify");
	if (checkpoint_opens_epoch(c)) {
		chain_open_epoch(cs, c);
		return true;
	}
	if (c->seq == 0)
		return chain_fail(cs, why, "head", "epoch-opening checkpoint head is not the epoch's chain origin");
	if (!cs->trusted)
		return chain_fail(cs, why, "epoch", "chain not trusted until the next signed epoch");
	if (memcmp(c->epoch, cs->epoch, WIRE_EPOCH_LEN) != 0)
		return chain_fail(cs, why, "epoch", "checkpoint epoch is not the current epoch");
	if (c->seq != cs->seq)
		return chain_fail(cs, why, "pseq", "checkpoint seq is not the chain's last seq");
	if (memcmp(c->head, cs->head, WIRE_DIGEST_LEN) != 0)
		return chain_fail(cs, why, "head", "checkpoint head does not match the chain");
	cs->covered_seq = c->seq;
	return true;
}

void chain_extend(uint8_t head[WIRE_DIGEST_LEN], struct signal_frame *s)
{
	uint8_t frame[SIGNAL_FRAME_LEN];
	if (!signal_encode(s, frame)) {
		/* Such a signal cannot be put on the wire; leave the head alone
		 * and give it a chain no observer will accept. */
		memset(s->chain, 0, WIRE_DIGEST_LEN);
		return;
	}
	derive_chain_next(head, frame, s->chain);
	memcpy(head, s->chain, WIRE_DIGEST_LEN);
}

void checkpoint_sign(struct checkpoint_frame *c, const uint8_t sk[64])
{
	uint8_t frame[CHECKPOINT_FRAME_LEN];
	if (!checkpoint_encode(c, frame)) {
		/* An invalid name cannot be encoded; an all-zero signature never verifies. */
		memset(c->sig, 0, WIRE_SIG_LEN);
		return;
	}
	crypto_sign_detached(c->sig, NULL, frame, CHECKPOINT_SIGNED_LEN, sk);
}

bool checkpoint_verify(const struct checkpoint_frame *c, const uint8_t pk[32])
{
	uint8_t frame[CHECKPOINT_FRAME_LEN];
	if (!checkpoint_encode(c, frame))
		return false;
	return crypto_sign_verify_detached(c->sig, frame, CHECKPOINT_SIGNED_LEN, pk) == 0;
}
