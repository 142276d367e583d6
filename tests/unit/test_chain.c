/* SPDX-License-Identifier: Apache-2.0 */
/* unit_chain: the observer's rules for one provider's signed signal chain
 * (lib/chain.c), driven by a simulated provider with a real Ed25519 key. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"

/* The provider side of one incarnation, as the provider role keeps it. */
struct sim_provider {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
};

static void sim_new(struct sim_provider *p)
{
	cr_assert_eq(sodium_init() < 0, false);
	cr_assert_eq(crypto_sign_keypair(p->pk, p->sk), 0);
	p->seq = 0;
}

/* A fresh epoch: what a provider does when it starts. */
static void sim_open_epoch(struct sim_provider *p, struct checkpoint_frame *c)
{
	randombytes_buf(p->epoch, sizeof p->epoch);
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	memset(c, 0, sizeof *c);
	strcpy(c->provider, "prov-A");
	memcpy(c->epoch, p->epoch, WIRE_EPOCH_LEN);
	c->seq = 0;
	memcpy(c->head, p->head, WIRE_DIGEST_LEN);
	checkpoint_sign(c, p->sk);
}

static struct signal_frame sim_signal(struct sim_provider *p, uint8_t stage)
{
	struct signal_frame s;
	memset(&s, 0, sizeof s);
	strcpy(s.provider, "prov-A");
	s.stage = stage;
	randombytes_buf(s.op, sizeof s.op);
	randombytes_buf(s.value, sizeof s.value);
	s.t_ns = 1700000000000000000ull + p->seq;
	s.seq = ++p->seq;
	chain_extend(p->head, &s);
	return s;
}

static struct checkpoint_frame sim_cover(const struct sim_provider *p)
{
	struct checkpoint_frame c;
	memset(&c, 0, sizeof c);
	strcpy(c.provider, "prov-A");
	memcpy(c.epoch, p->epoch, WIRE_EPOCH_LEN);
	c.seq = p->seq;
	memcpy(c.head, p->head, WIRE_DIGEST_LEN);
	checkpoint_sign(&c, p->sk);
	return c;
}

/* An observer that has accepted p's epoch-opening checkpoint. */
static void observer_open(struct chain_state *cs, struct sim_provider *p)
{
	struct checkpoint_frame open;
	const char *why = NULL;
	sim_open_epoch(p, &open);
	chain_init(cs);
	cr_assert(chain_accept_checkpoint(cs, &open, p->pk, &why), "opening rejected: %s", why);
	cr_assert(cs->trusted);
}

static void accept_signal_ok(struct chain_state *cs, const struct signal_frame *s)
{
	const char *why = NULL;
	cr_assert(chain_accept_signal(cs, s, &why), "signal seq %llu rejected: %s", (unsigned long long)s->seq,
		  why);
}

static void expect_signal_rejected(struct chain_state *cs, const struct signal_frame *s)
{
	const char *why = NULL;
	cr_assert_not(chain_accept_signal(cs, s, &why), "signal seq %llu accepted", (unsigned long long)s->seq);
	cr_assert_not_null(why, "a rejection says why");
	cr_assert_not(cs->trusted, "a rejected signal withdraws trust");
}

Test(unit_chain, good_epoch_signals_and_covering_checkpoint)
{
	struct sim_provider p;
	struct chain_state cs;
	sim_new(&p);
	observer_open(&cs, &p);
	cr_assert_eq(cs.seq, 0);
	cr_assert_eq(cs.covered_seq, 0);
	cr_assert_arr_eq(cs.epoch, p.epoch, WIRE_EPOCH_LEN);

	for (int i = 0; i < 4; i++) {
		struct signal_frame s = sim_signal(&p, i % 2 ? STAGE_COMPLETE : STAGE_START);
		accept_signal_ok(&cs, &s);
		cr_assert_eq(cs.seq, (uint64_t)i + 1);
		cr_assert_arr_eq(cs.head, s.chain, WIRE_DIGEST_LEN);
	}
	cr_assert_eq(cs.covered_seq, 0, "nothing covered before a checkpoint");

	struct checkpoint_frame cover = sim_cover(&p);
	const char *why = NULL;
	cr_assert(chain_accept_checkpoint(&cs, &cover, p.pk, &why), "cover rejected: %s", why);
	cr_assert_eq(cs.covered_seq, 4);
	cr_assert(cs.trusted);

	/* The chain goes on after a checkpoint, and the next one covers more. */
	struct signal_frame s5 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s5);
	cr_assert_eq(cs.covered_seq, 4);
	cover = sim_cover(&p);
	cr_assert(chain_accept_checkpoint(&cs, &cover, p.pk, &why), "cover rejected: %s", why);
	cr_assert_eq(cs.covered_seq, 5);
}

Test(unit_chain, chain_extend_matches_python_vector)
{
	uint8_t epoch[WIRE_EPOCH_LEN], head[WIRE_DIGEST_LEN], rr[WIRE_DIGEST_LEN], corr[WIRE_CORRELATION_LEN];
	for (int i = 0; i < WIRE_EPOCH_LEN; i++)
		epoch[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < WIRE_CORRELATION_LEN; i++)
		corr[i] = (uint8_t)i;
	derive_chain_origin(epoch, head);
	const char body[] = "{\"op\":\"transfer\",\"amount\":42}";
	derive_request_repr((const uint8_t *)body, strlen(body), rr);

	struct signal_frame s;
	memset(&s, 0, sizeof s);
	strcpy(s.provider, "A");
	s.stage = STAGE_START;
	derive_operation_id(rr, corr, s.op);
	memset(s.value, 0x11, sizeof s.value);
	s.t_ns = 1700000000123456789ull;
	s.seq = 1;
	chain_extend(head, &s);

	/* Same vector as unit_derive/chain_next_over_canonical_signal_bytes:
	 * hashlib.sha256(origin + struct.pack(">BBBB32s32s32sQQ", 1, 2, 1, 1, b"A", op,
	 *                b"\x11"*32, 1700000000123456789, 1)).hexdigest() */
	uint8_t want[WIRE_DIGEST_LEN];
	cr_assert_eq(hex_decode("280aaf5034ee8c41b51c77ff9ad023489840227e7bf5e7633b91caaba92c0e34", 64, want,
				sizeof want),
		     0);
	cr_assert_arr_eq(s.chain, want, WIRE_DIGEST_LEN);
	cr_assert_arr_eq(head, want, WIRE_DIGEST_LEN, "head advances to the new chain value");
}

Test(unit_chain, signal_before_any_checkpoint_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	struct checkpoint_frame open;
	sim_new(&p);
	sim_open_epoch(&p, &open);
	chain_init(&cs);
	cr_assert_not(cs.trusted);

	struct signal_frame s = sim_signal(&p, STAGE_START);
	expect_signal_rejected(&cs, &s);
	cr_assert_eq(cs.seq, 0);
}

Test(unit_chain, broken_link_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);

	struct signal_frame s2 = sim_signal(&p, STAGE_COMPLETE);
	uint8_t head_before[WIRE_DIGEST_LEN];
	memcpy(head_before, cs.head, sizeof head_before);
	s2.chain[7] ^= 0x01;
	expect_signal_rejected(&cs, &s2);
	cr_assert_eq(cs.seq, 1, "a rejected signal does not advance the chain");
	cr_assert_arr_eq(cs.head, head_before, WIRE_DIGEST_LEN);
}

Test(unit_chain, altered_field_breaks_the_link)
{
	struct sim_provider p;
	struct chain_state cs;
	sim_new(&p);
	observer_open(&cs, &p);
	/* The chain value is honest, but a field it covers was changed in transit. */
	struct signal_frame s = sim_signal(&p, STAGE_START);
	s.value[0] ^= 0x80;
	expect_signal_rejected(&cs, &s);

	observer_open(&cs, &p);
	s = sim_signal(&p, STAGE_START);
	s.stage = STAGE_COMPLETE;
	expect_signal_rejected(&cs, &s);

	observer_open(&cs, &p);
	s = sim_signal(&p, STAGE_START);
	strcpy(s.provider, "prov-B");
	expect_signal_rejected(&cs, &s);
}

Test(unit_chain, skipped_seq_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	(void)sim_signal(&p, STAGE_COMPLETE); /* seq 2 never arrives */
	struct signal_frame s3 = sim_signal(&p, STAGE_START);
	expect_signal_rejected(&cs, &s3);
	cr_assert_eq(cs.seq, 1);

	/* A correctly linked signal that skips a number: only seq can catch it. */
	observer_open(&cs, &p);
	s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	p.seq++;
	struct signal_frame skipping = sim_signal(&p, STAGE_COMPLETE);
	cr_assert_eq(skipping.seq, 3);
	expect_signal_rejected(&cs, &skipping);
}

Test(unit_chain, replayed_seq_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	struct signal_frame s2 = sim_signal(&p, STAGE_COMPLETE);
	accept_signal_ok(&cs, &s1);
	accept_signal_ok(&cs, &s2);
	expect_signal_rejected(&cs, &s1);
	observer_open(&cs, &p);
	s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	expect_signal_rejected(&cs, &s1); /* the same signal twice in a row */

	/* A correctly linked signal that reuses the last number. */
	observer_open(&cs, &p);
	s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	p.seq--;
	struct signal_frame reused = sim_signal(&p, STAGE_COMPLETE);
	cr_assert_eq(reused.seq, 1);
	expect_signal_rejected(&cs, &reused);
}

Test(unit_chain, untrusted_until_next_epoch)
{
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	s1.chain[0] ^= 0xff;
	expect_signal_rejected(&cs, &s1);

	/* Perfectly good signals and checkpoints of the broken epoch stay rejected. */
	struct sim_provider honest = p;
	memcpy(honest.head, cs.head, WIRE_DIGEST_LEN);
	honest.seq = 0;
	struct signal_frame good = sim_signal(&honest, STAGE_START);
	expect_signal_rejected(&cs, &good);
	struct checkpoint_frame cover = sim_cover(&honest);
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not(cs.trusted);
	cr_assert_eq(cs.covered_seq, 0);

	/* A new signed epoch restores trust, and its chain is accepted. */
	struct checkpoint_frame open;
	sim_open_epoch(&p, &open);
	cr_assert(chain_accept_checkpoint(&cs, &open, p.pk, &why), "new epoch rejected: %s", why);
	cr_assert(cs.trusted);
	cr_assert_eq(cs.seq, 0);
	cr_assert_arr_eq(cs.epoch, p.epoch, WIRE_EPOCH_LEN);
	struct signal_frame n1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &n1);
	cover = sim_cover(&p);
	cr_assert(chain_accept_checkpoint(&cs, &cover, p.pk, &why), "cover rejected: %s", why);
	cr_assert_eq(cs.covered_seq, 1);
}

Test(unit_chain, covering_checkpoint_does_not_restore_trust)
{
	/* After a break, a valid signature over exactly the head the observer
	 * last accepted still does not cover anything: only a new epoch does. */
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	struct checkpoint_frame cover = sim_cover(&p);

	struct signal_frame s2 = sim_signal(&p, STAGE_COMPLETE);
	s2.chain[3] ^= 0x10;
	expect_signal_rejected(&cs, &s2);
	cr_assert_eq(cs.seq, cover.seq);
	cr_assert_arr_eq(cs.head, cover.head, WIRE_DIGEST_LEN);

	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not_null(why);
	cr_assert_not(cs.trusted);
	cr_assert_eq(cs.covered_seq, 0);
}

Test(unit_chain, bad_signature_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);

	struct checkpoint_frame open;
	sim_open_epoch(&p, &open);
	open.sig[10] ^= 0x04;
	chain_init(&cs);
	cr_assert_not(chain_accept_checkpoint(&cs, &open, p.pk, &why));
	cr_assert_not_null(why);
	cr_assert_not(cs.trusted, "a forged opening grants no trust");

	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	struct checkpoint_frame cover = sim_cover(&p);
	cover.sig[63] ^= 0x01;
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not(cs.trusted, "a bad checkpoint in a trusted epoch withdraws trust");
	cr_assert_eq(cs.covered_seq, 0);
}

Test(unit_chain, wrong_key_rejected)
{
	struct sim_provider p, other;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	sim_new(&other);

	/* Signed by another provider's key: not this provider's checkpoint. */
	struct checkpoint_frame open;
	sim_open_epoch(&other, &open);
	chain_init(&cs);
	cr_assert_not(chain_accept_checkpoint(&cs, &open, p.pk, &why));
	cr_assert_not(cs.trusted);

	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	struct checkpoint_frame cover = sim_cover(&p);
	checkpoint_sign(&cover, other.sk);
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not(cs.trusted);
}

Test(unit_chain, checkpoint_head_mismatch_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);

	/* Validly signed, but over a head the observer never saw. */
	struct checkpoint_frame cover = sim_cover(&p);
	cover.head[31] ^= 0x01;
	checkpoint_sign(&cover, p.sk);
	cr_assert(checkpoint_verify(&cover, p.pk));
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not_null(why);
	cr_assert_not(cs.trusted);
	cr_assert_eq(cs.covered_seq, 0);
}

Test(unit_chain, checkpoint_seq_or_epoch_mismatch_rejected)
{
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);

	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	struct checkpoint_frame cover = sim_cover(&p);
	cover.seq = 2; /* claims a signal the observer has not seen */
	checkpoint_sign(&cover, p.sk);
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not(cs.trusted);

	observer_open(&cs, &p);
	s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	cover = sim_cover(&p);
	cover.epoch[0] ^= 0x01;
	checkpoint_sign(&cover, p.sk);
	cr_assert_not(chain_accept_checkpoint(&cs, &cover, p.pk, &why));
	cr_assert_not(cs.trusted);
}

Test(unit_chain, opening_checkpoint_must_start_at_the_origin)
{
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	struct checkpoint_frame open;
	sim_open_epoch(&p, &open);
	open.head[0] ^= 0x01;
	checkpoint_sign(&open, p.sk);
	chain_init(&cs);
	cr_assert_not(chain_accept_checkpoint(&cs, &open, p.pk, &why));
	cr_assert_not(cs.trusted);
}

Test(unit_chain, new_epoch_replaces_a_trusted_one)
{
	/* A restarted provider opens a new epoch; the old one's checkpoints no
	 * longer cover anything. */
	struct sim_provider p;
	struct chain_state cs;
	const char *why = NULL;
	sim_new(&p);
	observer_open(&cs, &p);
	struct signal_frame s1 = sim_signal(&p, STAGE_START);
	accept_signal_ok(&cs, &s1);
	struct sim_provider old = p;

	struct checkpoint_frame open;
	sim_open_epoch(&p, &open);
	cr_assert(chain_accept_checkpoint(&cs, &open, p.pk, &why), "new epoch rejected: %s", why);
	cr_assert_eq(cs.seq, 0);
	cr_assert_eq(cs.covered_seq, 0);

	struct checkpoint_frame stale = sim_cover(&old);
	cr_assert_not(chain_accept_checkpoint(&cs, &stale, p.pk, &why));
}

Test(unit_chain, signature_covers_the_first_signed_bytes)
{
	struct sim_provider p;
	sim_new(&p);
	struct checkpoint_frame c;
	sim_open_epoch(&p, &c);
	cr_assert(checkpoint_verify(&c, p.pk));

	/* Checked with libsodium directly over the encoded frame's prefix. */
	uint8_t frame[CHECKPOINT_FRAME_LEN];
	cr_assert(checkpoint_encode(&c, frame));
	cr_assert_eq(crypto_sign_verify_detached(frame + CHECKPOINT_SIGNED_LEN, frame, CHECKPOINT_SIGNED_LEN,
						 p.pk),
		     0);

	/* Every signed field matters. */
	struct checkpoint_frame t = c;
	t.seq = 1;
	cr_assert_not(checkpoint_verify(&t, p.pk));
	t = c;
	t.epoch[15] ^= 0x01;
	cr_assert_not(checkpoint_verify(&t, p.pk));
	t = c;
	strcpy(t.provider, "prov-B");
	cr_assert_not(checkpoint_verify(&t, p.pk));
}

Test(unit_chain, invalid_names_never_sign_or_verify)
{
	struct sim_provider p;
	sim_new(&p);
	struct checkpoint_frame c;
	sim_open_epoch(&p, &c);
	strcpy(c.provider, "bad name");
	checkpoint_sign(&c, p.sk);
	cr_assert_not(checkpoint_verify(&c, p.pk));
	for (size_t i = 0; i < WIRE_SIG_LEN; i++)
		cr_assert_eq(c.sig[i], 0, "no signature over an unencodable checkpoint");
}
