/* SPDX-License-Identifier: Apache-2.0 */
/* The association's check of a frame that comes again with a pseq it has
 * passed (roles/association/frames.c): a copy from the provider's journal
 * is dropped, a different history ends the provider's trust. The chain
 * kept for that check is a prefix every RECENT_EVERY pseqs and the whole
 * head; these tests drive peer_on_signal with frames chained as a provider
 * chains them (lib/chain.c), the association replaying so that nothing is
 * written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../roles/association/association_internal.h"

#define SIGNALS 42 /* not a multiple of RECENT_EVERY: forks at 41 and 42 only the whole head shows */

static struct association_provider prov = { .name = "A", .checkpoint_every = 256 };
static struct association_config cfg = { .n_providers = 1, .providers = &prov };
static struct association as;
static struct peer peer;
static uint32_t ring[RECENT_SLOTS];
static struct l2_uncovered queue[256];
static uint8_t epoch[WIRE_EPOCH_LEN] = { 7 };

/* Frames 1..n of a provider's history; `fork_at` and later differ in their
 * operation (0: none), as a provider that lost its journal's tail and
 * signalled other operations would send them. */
static void history(struct signal_frame *out, size_t n, uint64_t fork_at)
{
	uint8_t head[WIRE_DIGEST_LEN];
	derive_chain_origin(epoch, head);
	for (size_t i = 0; i < n; i++) {
		struct signal_frame *s = &out[i];
		memset(s, 0, sizeof(*s));
		snprintf(s->provider, sizeof(s->provider), "A");
		s->seq = i + 1;
		s->stage = s->seq % 2 ? STAGE_START : STAGE_COMPLETE;
		s->op[0] = (uint8_t)(s->seq / 2);
		s->op[1] = fork_at && s->seq >= fork_at ? 0xee : 0;
		s->value[0] = (uint8_t)s->seq;
		s->t_ns = 1000 * s->seq;
		chain_extend(head, s);
	}
}

static void setup(void)
{
	memset(&as, 0, sizeof(as));
	memset(&peer, 0, sizeof(peer));
	memset(ring, 0, sizeof(ring));
	as.cfg = &cfg;
	as.peers = &peer;
	as.replaying = true;
	peer.cfg = &prov;
	peer.recent_chain = ring;
	peer.queue = queue;
	chain_init(&peer.chain);
	peer.chain.trusted = true;
	memcpy(peer.chain.epoch, epoch, sizeof(epoch));
	derive_chain_origin(epoch, peer.chain.head);
}

TestSuite(unit_resend_check, .init = setup);

/* Records the first n frames of the one history. */
static void record(const struct signal_frame *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(peer_on_signal(&as, 0, &h[i]), 0);
	cr_assert(peer.chain.trusted);
	cr_assert_eq(peer.chain.seq, n);
	peer.queued = 0; /* as a checkpoint would: the queue holds 256 */
}

Test(unit_resend_check, a_journal_copy_is_dropped_and_trust_kept)
{
	struct signal_frame h[SIGNALS];
	history(h, SIGNALS, 0);
	record(h, SIGNALS);
	for (size_t i = 0; i < SIGNALS; i++)
		cr_assert_eq(peer_on_signal(&as, 0, &h[i]), 0);
	cr_assert(peer.chain.trusted, "a copy of the recorded history ended the provider's trust");
	cr_assert_eq(peer.resent, SIGNALS);
	cr_assert_eq(as.rejected, 0);
}

/* A second history from each pseq in turn: trust ends within
 * RECENT_EVERY - 1 frames of the fork, and never on the frames before it. */
Test(unit_resend_check, a_second_history_ends_trust_within_the_kept_spacing)
{
	struct signal_frame h[SIGNALS], other[SIGNALS];
	history(h, SIGNALS, 0);
	for (uint64_t fork = 1; fork <= SIGNALS; fork++) {
		setup();
		record(h, SIGNALS);
		history(other, SIGNALS, fork);
		uint64_t seen = 0;
		for (size_t i = 0; i < SIGNALS && peer.chain.trusted; i++) {
			cr_assert_eq(peer_on_signal(&as, 0, &other[i]), 0);
			seen = other[i].seq;
		}
		cr_assert_not(peer.chain.trusted, "fork at pseq %llu: the second history was taken for a copy",
			      (unsigned long long)fork);
		cr_assert_geq(seen, fork, "trust ended before the fork at %llu", (unsigned long long)fork);
		cr_assert_lt(seen - fork, RECENT_EVERY, "fork at %llu found only at %llu", (unsigned long long)fork,
			     (unsigned long long)seen);
		cr_assert_eq(as.rejected, 1);
	}
}

/* The head itself is compared whole: one byte past the kept prefix. */
Test(unit_resend_check, the_head_is_compared_whole)
{
	struct signal_frame h[SIGNALS];
	history(h, SIGNALS, 0);
	record(h, SIGNALS);
	struct signal_frame last = h[SIGNALS - 1];
	last.chain[WIRE_DIGEST_LEN - 1] ^= 1;
	cr_assert_eq(peer_on_signal(&as, 0, &last), 0);
	cr_assert_not(peer.chain.trusted);
}
