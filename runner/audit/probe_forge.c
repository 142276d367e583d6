/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The forging probe: a provider, with its own secret key, writes on its
 * own signal channel what a compromised provider could: a signal claiming
 * another provider, another history under a recorded seq, a seq out of
 * order, a checkpoint signed with another key. The real association then
 * judges them (runner/audit/audit_after_probe.c). */
#include "probe_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/wire.h"

static bool send_frame(const uint8_t *buf, size_t len)
{
	/* the call a provider really has for its channel */
	struct iovec iov = { (void *)buf, len };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	return syscall(SYS_sendmmsg, PROVIDER_FD_SIGNAL, &m, 1, MSG_NOSIGNAL) == 1;
}

/* A fresh signed epoch and one valid START (seq 1), as the provider sends
 * them; leaves the chain head in head and the signal in s. */
static bool open_epoch(const struct probe_env *e, const uint8_t sk[64], uint8_t head[WIRE_DIGEST_LEN],
		       struct checkpoint_frame *c, struct signal_frame *s)
{
	uint8_t frame[CHECKPOINT_FRAME_LEN], sframe[SIGNAL_FRAME_LEN];
	memset(c, 0, sizeof(*c));
	snprintf(c->provider, sizeof(c->provider), "%s", e->self_name);
	randombytes_buf(c->epoch, sizeof(c->epoch));
	derive_chain_origin(c->epoch, head);
	memcpy(c->head, head, WIRE_DIGEST_LEN);
	checkpoint_sign(c, sk);
	memset(s, 0, sizeof(*s));
	snprintf(s->provider, sizeof(s->provider), "%s", e->self_name);
	s->stage = STAGE_START;
	randombytes_buf(s->op, sizeof(s->op));
	randombytes_buf(s->value, sizeof(s->value));
	s->seq = 1;
	chain_extend(head, s);
	return checkpoint_encode(c, frame) && send_frame(frame, sizeof(frame)) && signal_encode(s, sframe) &&
	       send_frame(sframe, sizeof(sframe));
}

/* The next signal after s, chained from head, with provider and seq as given. */
static bool send_next(const struct signal_frame *s, uint8_t head[WIRE_DIGEST_LEN], const char *provider,
		      uint64_t seq)
{
	struct signal_frame n = *s;
	uint8_t frame[SIGNAL_FRAME_LEN];
	snprintf(n.provider, sizeof(n.provider), "%s", provider);
	n.stage = STAGE_COMPLETE;
	n.seq = seq;
	chain_extend(head, &n);
	return signal_encode(&n, frame) && send_frame(frame, sizeof(frame));
}

/* A second signal with s's seq but another value, chained from the epoch's
 * origin as s was: another history under a pseq the association recorded.
 * (The same frame sent again is what a provider's journal resends, and is
 * skipped, not rejected.) */
static bool send_other_history(const struct checkpoint_frame *c, const struct signal_frame *s)
{
	struct signal_frame other = *s;
	uint8_t origin[WIRE_DIGEST_LEN], frame[SIGNAL_FRAME_LEN];
	derive_chain_origin(c->epoch, origin);
	other.value[0] ^= 1;
	chain_extend(origin, &other);
	return signal_encode(&other, frame) && send_frame(frame, sizeof(frame));
}

/* Each forgery follows a fresh valid epoch, so each is rejected for its
 * own fault, not because an earlier one broke the chain. */
int act_forge_signals(const struct probe_def *d, const struct probe_env *e, const uint8_t sk[64])
{
	struct checkpoint_frame c;
	struct signal_frame s;
	uint8_t head[WIRE_DIGEST_LEN], frame[SIGNAL_FRAME_LEN > CHECKPOINT_FRAME_LEN ? SIGNAL_FRAME_LEN
										  : CHECKPOINT_FRAME_LEN];
	uint8_t wrong_pk[32], wrong_sk[64];
	bool ok = open_epoch(e, sk, head, &c, &s) && send_next(&s, head, e->other_name, 2) /* (a) */
		  && open_epoch(e, sk, head, &c, &s) && send_other_history(&c, &s)          /* (b) */
		  && open_epoch(e, sk, head, &c, &s) && send_next(&s, head, e->self_name, 3); /* (c) */
	if (!ok || !open_epoch(e, sk, head, &c, &s))
		return PROBE_EXIT_DATA;
	crypto_sign_keypair(wrong_pk, wrong_sk);
	c.seq = 1;
	memcpy(c.head, head, WIRE_DIGEST_LEN);
	checkpoint_sign(&c, wrong_sk); /* (d) */
	return checkpoint_encode(&c, frame) && send_frame(frame, CHECKPOINT_FRAME_LEN) ? 0 : PROBE_EXIT_DATA;
}
