/* SPDX-License-Identifier: Apache-2.0 */
/* unit_wire: the frame codecs of lib/wire.c against byte layouts built
 * independently in Python (struct.pack), plus every rejection class. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/wire.h"

/* Test-local hex reader, so these tests do not lean on derive.c. */
static size_t wire_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	cr_assert_eq(strlen(hex) % 2, 0, "golden frame has an odd number of hex digits");
	cr_assert_leq(n, cap, "golden frame larger than its buffer");
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* python3 -c 'import struct; print((struct.pack(">BBBB16s32s32sHHI",1,1,1,0,
 *   bytes(range(16)),b"\x01"*32,b"\x02"*32,3,3,4)+b"CTXtokbody").hex())' */
static const char GOLDEN_ARTIFACT[] =
	"01010100000102030405060708090a0b0c0d0e0f0101010101010101010101010101010101010101010101010101"
	"01010101010102020202020202020202020202020202020202020202020202020202020202020003000300000004"
	"435458746f6b626f6479";

/* python3 -c 'import struct; print(struct.pack(">BBBB32s32s32sQQ32s",1,2,2,6,b"prov_1",
 *   b"\x0a"*32,b"\x0b"*32,0x0102030405060708,0x1112131415161718,b"\x0c"*32).hex())' */
static const char GOLDEN_SIGNAL[] =
	"0102020670726f765f3100000000000000000000000000000000000000000000000000000a0a0a0a0a0a0a0a0a0a"
	"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	"0b0b0b0b0b0b0b0b010203040506070811121314151617180c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
	"0c0c0c0c0c0c0c0c0c0c";

/* python3 -c 'import struct; print(struct.pack(">BBBB32s16sQ32s64s",1,3,0,6,b"prov_1",
 *   bytes(range(0xa0,0xb0)),0x2122232425262728,b"\x33"*32,b"\x44"*64).hex())' */
static const char GOLDEN_CHECKPOINT[] =
	"0103000670726f765f310000000000000000000000000000000000000000000000000000a0a1a2a3a4a5a6a7a8a9"
	"aaabacadaeaf21222324252627283333333333333333333333333333333333333333333333333333333333333333"
	"44444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444"
	"444444444444444444444444444444444444";

/* The same values as the golden frames, as structs. */
static struct artifact sample_artifact(void)
{
	struct artifact a;
	memset(&a, 0, sizeof a);
	for (int i = 0; i < WIRE_CORRELATION_LEN; i++)
		a.correlation[i] = (uint8_t)i;
	memset(a.request_repr, 0x01, sizeof a.request_repr);
	memset(a.binding, 0x02, sizeof a.binding);
	a.context = "CTX";
	a.context_len = 3;
	a.token = "tok";
	a.token_len = 3;
	a.has_body = true;
	a.body = (const uint8_t *)"body";
	a.body_len = 4;
	return a;
}

static struct signal_frame sample_signal(void)
{
	struct signal_frame s;
	memset(&s, 0, sizeof s);
	strcpy(s.provider, "prov_1");
	s.stage = STAGE_COMPLETE;
	memset(s.op, 0x0a, sizeof s.op);
	memset(s.value, 0x0b, sizeof s.value);
	s.t_ns = 0x0102030405060708ull;
	s.seq = 0x1112131415161718ull;
	memset(s.chain, 0x0c, sizeof s.chain);
	return s;
}

static struct checkpoint_frame sample_checkpoint(void)
{
	struct checkpoint_frame c;
	memset(&c, 0, sizeof c);
	strcpy(c.provider, "prov_1");
	for (int i = 0; i < WIRE_EPOCH_LEN; i++)
		c.epoch[i] = (uint8_t)(0xa0 + i);
	c.seq = 0x2122232425262728ull;
	memset(c.head, 0x33, sizeof c.head);
	memset(c.sig, 0x44, sizeof c.sig);
	return c;
}

/* ---- golden layouts and round trips ---- */

Test(unit_wire, artifact_encode_matches_golden_layout)
{
	uint8_t want[256], got[256];
	size_t want_len = wire_test_unhex(GOLDEN_ARTIFACT, want, sizeof want);
	struct artifact a = sample_artifact();
	size_t n = artifact_encode(&a, true, got, sizeof got);
	cr_assert_eq(n, want_len);
	cr_assert_arr_eq(got, want, n);
}

Test(unit_wire, artifact_round_trip_with_body)
{
	uint8_t buf[256], again[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	struct artifact a;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_OK);
	struct artifact want = sample_artifact();
	cr_assert_arr_eq(a.correlation, want.correlation, WIRE_CORRELATION_LEN);
	cr_assert_arr_eq(a.request_repr, want.request_repr, WIRE_DIGEST_LEN);
	cr_assert_arr_eq(a.binding, want.binding, WIRE_DIGEST_LEN);
	cr_assert_eq(a.context_len, 3);
	cr_assert_arr_eq(a.context, "CTX", 3);
	cr_assert_eq(a.token_len, 3);
	cr_assert_arr_eq(a.token, "tok", 3);
	cr_assert(a.has_body);
	cr_assert_eq(a.body_len, 4);
	cr_assert_arr_eq(a.body, "body", 4);
	/* Views point into the frame: nothing was copied. */
	cr_assert_eq((const uint8_t *)a.context, buf + ARTIFACT_HDR_LEN);
	cr_assert_eq(a.body, buf + ARTIFACT_HDR_LEN + 6);

	cr_assert_eq(artifact_encode(&a, a.has_body, again, sizeof again), len);
	cr_assert_arr_eq(again, buf, len);
}

Test(unit_wire, artifact_round_trip_without_body)
{
	struct artifact a = sample_artifact();
	uint8_t buf[256];
	size_t len = artifact_encode(&a, false, buf, sizeof buf);
	cr_assert_eq(len, ARTIFACT_HDR_LEN + 6);
	cr_assert_eq(buf[2], 0, "body flag must be clear");

	struct artifact d;
	cr_assert_eq(artifact_decode(buf, len, &d), WIRE_OK);
	cr_assert_not(d.has_body);
	cr_assert_eq(d.body_len, 0);
	cr_assert_null(d.body);
	cr_assert_arr_eq(d.token, "tok", 3);
}

Test(unit_wire, artifact_empty_fields_and_empty_body)
{
	struct artifact a;
	memset(&a, 0, sizeof a);
	a.has_body = true; /* body present but zero bytes long */
	uint8_t buf[ARTIFACT_HDR_LEN], again[ARTIFACT_HDR_LEN];
	cr_assert_eq(artifact_encode(&a, true, buf, sizeof buf), ARTIFACT_HDR_LEN);

	struct artifact d;
	cr_assert_eq(artifact_decode(buf, sizeof buf, &d), WIRE_OK);
	cr_assert(d.has_body);
	cr_assert_eq(d.context_len + d.token_len + d.body_len, 0);
	cr_assert_eq(artifact_encode(&d, d.has_body, again, sizeof again), ARTIFACT_HDR_LEN);
	cr_assert_arr_eq(again, buf, sizeof buf);
}

Test(unit_wire, artifact_at_every_maximum_round_trips)
{
	size_t cap = ARTIFACT_MAX_LEN;
	uint8_t *buf = malloc(cap);
	uint8_t *body = malloc(WIRE_BODY_MAX);
	char ctx[WIRE_CONTEXT_MAX], tok[WIRE_TOKEN_MAX];
	cr_assert_not_null(buf);
	cr_assert_not_null(body);
	memset(ctx, 'c', sizeof ctx);
	memset(tok, 't', sizeof tok);
	memset(body, 0xb0, WIRE_BODY_MAX);

	struct artifact a = sample_artifact();
	a.context = ctx;
	a.context_len = sizeof ctx;
	a.token = tok;
	a.token_len = sizeof tok;
	a.body = body;
	a.body_len = WIRE_BODY_MAX;
	cr_assert_eq(artifact_encode(&a, true, buf, cap), cap);

	struct artifact d;
	cr_assert_eq(artifact_decode(buf, cap, &d), WIRE_OK);
	cr_assert_eq(d.context_len, WIRE_CONTEXT_MAX);
	cr_assert_eq(d.token_len, WIRE_TOKEN_MAX);
	cr_assert_eq(d.body_len, WIRE_BODY_MAX);
	cr_assert_arr_eq(d.body, body, WIRE_BODY_MAX);
	free(body);
	free(buf);
}

Test(unit_wire, artifact_header_plus_fields_equals_whole_frame)
{
	struct artifact a = sample_artifact();
	uint8_t whole[256], pieces[256];
	size_t n = artifact_encode(&a, true, whole, sizeof whole);

	/* What the intermediary's iovecs put on the wire. */
	artifact_header_encode(&a, true, pieces);
	memcpy(pieces + ARTIFACT_HDR_LEN, a.context, a.context_len);
	memcpy(pieces + ARTIFACT_HDR_LEN + 3, a.token, a.token_len);
	memcpy(pieces + ARTIFACT_HDR_LEN + 6, a.body, a.body_len);
	cr_assert_arr_eq(pieces, whole, n);

	uint8_t hdr[ARTIFACT_HDR_LEN];
	artifact_header_encode(&a, false, hdr);
	cr_assert_eq(hdr[2], 0);
	cr_assert_arr_eq(hdr + 88, "\0\0\0\0", 4, "no body: body_len 0");
}

Test(unit_wire, artifact_encode_refuses_small_buffer_and_oversize_fields)
{
	struct artifact a = sample_artifact();
	uint8_t buf[256];
	cr_assert_eq(artifact_encode(&a, true, buf, ARTIFACT_HDR_LEN + 9), 0);
	cr_assert_eq(artifact_encode(&a, false, buf, ARTIFACT_HDR_LEN + 6), ARTIFACT_HDR_LEN + 6);

	struct artifact big = a;
	big.context_len = WIRE_CONTEXT_MAX + 1;
	cr_assert_eq(artifact_encode(&big, true, buf, sizeof buf), 0);
	big = a;
	big.token_len = WIRE_TOKEN_MAX + 1;
	cr_assert_eq(artifact_encode(&big, true, buf, sizeof buf), 0);
	big = a;
	big.body_len = WIRE_BODY_MAX + 1;
	cr_assert_eq(artifact_encode(&big, true, buf, sizeof buf), 0);
}

Test(unit_wire, signal_encode_matches_golden_and_round_trips)
{
	uint8_t want[SIGNAL_FRAME_LEN], got[SIGNAL_FRAME_LEN];
	cr_assert_eq(wire_test_unhex(GOLDEN_SIGNAL, want, sizeof want), SIGNAL_FRAME_LEN);
	struct signal_frame s = sample_signal();
	cr_assert(signal_encode(&s, got));
	cr_assert_arr_eq(got, want, SIGNAL_FRAME_LEN);

	struct signal_frame d;
	cr_assert_eq(signal_decode(want, sizeof want, &d), WIRE_OK);
	cr_assert_str_eq(d.provider, "prov_1");
	cr_assert_eq(d.stage, STAGE_COMPLETE);
	cr_assert_arr_eq(d.op, s.op, WIRE_DIGEST_LEN);
	cr_assert_arr_eq(d.value, s.value, WIRE_DIGEST_LEN);
	cr_assert_eq(d.t_ns, 0x0102030405060708ull);
	cr_assert_eq(d.seq, 0x1112131415161718ull);
	cr_assert_arr_eq(d.chain, s.chain, WIRE_DIGEST_LEN);
}

Test(unit_wire, checkpoint_encode_matches_golden_and_round_trips)
{
	uint8_t want[CHECKPOINT_FRAME_LEN], got[CHECKPOINT_FRAME_LEN];
	cr_assert_eq(wire_test_unhex(GOLDEN_CHECKPOINT, want, sizeof want), CHECKPOINT_FRAME_LEN);
	struct checkpoint_frame c = sample_checkpoint();
	cr_assert(checkpoint_encode(&c, got));
	cr_assert_arr_eq(got, want, CHECKPOINT_FRAME_LEN);

	struct checkpoint_frame d;
	cr_assert_eq(checkpoint_decode(want, sizeof want, &d), WIRE_OK);
	cr_assert_str_eq(d.provider, "prov_1");
	cr_assert_arr_eq(d.epoch, c.epoch, WIRE_EPOCH_LEN);
	cr_assert_eq(d.seq, 0x2122232425262728ull);
	cr_assert_arr_eq(d.head, c.head, WIRE_DIGEST_LEN);
	cr_assert_arr_eq(d.sig, c.sig, WIRE_SIG_LEN);
}

Test(unit_wire, longest_provider_name_round_trips)
{
	struct signal_frame s = sample_signal();
	memset(s.provider, 'Z', WIRE_PROVIDER_ID_MAX);
	s.provider[WIRE_PROVIDER_ID_MAX] = '\0';
	uint8_t buf[SIGNAL_FRAME_LEN];
	cr_assert(signal_encode(&s, buf));
	cr_assert_eq(buf[3], WIRE_PROVIDER_ID_MAX);
	struct signal_frame d;
	cr_assert_eq(signal_decode(buf, sizeof buf, &d), WIRE_OK);
	cr_assert_str_eq(d.provider, s.provider);
}

/* ---- truncation at every length ---- */

Test(unit_wire, artifact_truncated_at_every_length)
{
	uint8_t buf[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	struct artifact a;
	for (size_t n = 0; n < len; n++)
		cr_assert_eq(artifact_decode(buf, n, &a), WIRE_ETRUNC, "length %zu", n);
}

Test(unit_wire, signal_truncated_at_every_length)
{
	uint8_t buf[SIGNAL_FRAME_LEN];
	wire_test_unhex(GOLDEN_SIGNAL, buf, sizeof buf);
	struct signal_frame s;
	for (size_t n = 0; n < sizeof buf; n++)
		cr_assert_eq(signal_decode(buf, n, &s), WIRE_ETRUNC, "length %zu", n);
}

Test(unit_wire, checkpoint_truncated_at_every_length)
{
	uint8_t buf[CHECKPOINT_FRAME_LEN];
	wire_test_unhex(GOLDEN_CHECKPOINT, buf, sizeof buf);
	struct checkpoint_frame c;
	for (size_t n = 0; n < sizeof buf; n++)
		cr_assert_eq(checkpoint_decode(buf, n, &c), WIRE_ETRUNC, "length %zu", n);
}

Test(unit_wire, truncated_body_is_truncated_not_malformed)
{
	/* Declared lengths promise more than arrived. */
	uint8_t buf[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	buf[91] = 5; /* body_len 4 -> 5 */
	struct artifact a;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_ETRUNC);
}

/* ---- version and type ---- */

Test(unit_wire, wrong_version_rejected_by_every_decoder)
{
	uint8_t art[256], sig[SIGNAL_FRAME_LEN], ckp[CHECKPOINT_FRAME_LEN];
	size_t art_len = wire_test_unhex(GOLDEN_ARTIFACT, art, sizeof art);
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	wire_test_unhex(GOLDEN_CHECKPOINT, ckp, sizeof ckp);
	struct artifact a;
	struct signal_frame s;
	struct checkpoint_frame c;
	const uint8_t versions[] = { 0, 2, 0xff };
	for (size_t i = 0; i < sizeof versions; i++) {
		art[0] = sig[0] = ckp[0] = versions[i];
		cr_assert_eq(artifact_decode(art, art_len, &a), WIRE_EVERSION);
		cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_EVERSION);
		cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_EVERSION);
		/* Checked as soon as there are two bytes, before any length. */
		cr_assert_eq(artifact_decode(art, 2, &a), WIRE_EVERSION);
		cr_assert_eq(signal_decode(sig, 2, &s), WIRE_EVERSION);
		cr_assert_eq(checkpoint_decode(ckp, 2, &c), WIRE_EVERSION);
	}
}

Test(unit_wire, wrong_type_rejected_by_every_decoder)
{
	uint8_t art[256], sig[SIGNAL_FRAME_LEN], ckp[CHECKPOINT_FRAME_LEN];
	size_t art_len = wire_test_unhex(GOLDEN_ARTIFACT, art, sizeof art);
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	wire_test_unhex(GOLDEN_CHECKPOINT, ckp, sizeof ckp);
	struct artifact a;
	struct signal_frame s;
	struct checkpoint_frame c;
	/* Each valid frame handed to the other two decoders. */
	cr_assert_eq(artifact_decode(sig, sizeof sig, &a), WIRE_ETYPE);
	cr_assert_eq(artifact_decode(ckp, sizeof ckp, &a), WIRE_ETYPE);
	cr_assert_eq(signal_decode(art, art_len, &s), WIRE_ETYPE);
	cr_assert_eq(signal_decode(ckp, sizeof ckp, &s), WIRE_ETYPE);
	cr_assert_eq(checkpoint_decode(art, art_len, &c), WIRE_ETYPE);
	cr_assert_eq(checkpoint_decode(sig, sizeof sig, &c), WIRE_ETYPE);

	art[1] = 0;
	sig[1] = 4;
	ckp[1] = 0xff;
	cr_assert_eq(artifact_decode(art, art_len, &a), WIRE_ETYPE);
	cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_ETYPE);
	cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_ETYPE);
}

/* ---- oversize declared lengths ---- */

static enum wire_err artifact_with_lengths(uint16_t ctx, uint16_t tok, uint32_t body)
{
	/* Large enough that only the declared maximum can be the complaint. */
	size_t cap = ARTIFACT_MAX_LEN + 0x10000;
	uint8_t *buf = calloc(1, cap);
	cr_assert_not_null(buf);
	struct artifact a = sample_artifact();
	artifact_header_encode(&a, true, buf);
	buf[84] = (uint8_t)(ctx >> 8);
	buf[85] = (uint8_t)ctx;
	buf[86] = (uint8_t)(tok >> 8);
	buf[87] = (uint8_t)tok;
	buf[88] = (uint8_t)(body >> 24);
	buf[89] = (uint8_t)(body >> 16);
	buf[90] = (uint8_t)(body >> 8);
	buf[91] = (uint8_t)body;
	size_t len = ARTIFACT_HDR_LEN + ctx + tok + (size_t)body;
	enum wire_err e = artifact_decode(buf, len < cap ? len : cap, &a);
	free(buf);
	return e;
}

Test(unit_wire, artifact_oversize_lengths)
{
	cr_assert_eq(artifact_with_lengths(WIRE_CONTEXT_MAX, WIRE_TOKEN_MAX, WIRE_BODY_MAX), WIRE_OK);
	cr_assert_eq(artifact_with_lengths(WIRE_CONTEXT_MAX + 1, 0, 0), WIRE_EOVERSIZE);
	cr_assert_eq(artifact_with_lengths(0xffff, 0, 0), WIRE_EOVERSIZE);
	cr_assert_eq(artifact_with_lengths(0, WIRE_TOKEN_MAX + 1, 0), WIRE_EOVERSIZE);
	cr_assert_eq(artifact_with_lengths(0, 0xffff, 0), WIRE_EOVERSIZE);
	cr_assert_eq(artifact_with_lengths(0, 0, WIRE_BODY_MAX + 1), WIRE_EOVERSIZE);
}

Test(unit_wire, artifact_huge_body_len_in_short_frame)
{
	uint8_t buf[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	memset(buf + 88, 0xff, 4); /* body_len 4 GiB - 1 */
	struct artifact a;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_EOVERSIZE);
}

Test(unit_wire, name_length_over_maximum)
{
	uint8_t sig[SIGNAL_FRAME_LEN], ckp[CHECKPOINT_FRAME_LEN];
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	wire_test_unhex(GOLDEN_CHECKPOINT, ckp, sizeof ckp);
	struct signal_frame s;
	struct checkpoint_frame c;
	sig[3] = ckp[3] = WIRE_PROVIDER_ID_MAX + 1;
	cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_EOVERSIZE);
	cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_EOVERSIZE);
	sig[3] = ckp[3] = 0xff;
	cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_EOVERSIZE);
	cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_EOVERSIZE);
}

/* ---- malformed ---- */

Test(unit_wire, artifact_bad_flags_and_reserved)
{
	uint8_t buf[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	struct artifact a;
	const uint8_t flags[] = { 0x02, 0x03, 0x80, 0xff };
	for (size_t i = 0; i < sizeof flags; i++) {
		buf[2] = flags[i];
		cr_assert_eq(artifact_decode(buf, len, &a), WIRE_EMALFORMED, "flags %#x", flags[i]);
	}
	buf[2] = ARTIFACT_FLAG_BODY;
	buf[3] = 1;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_EMALFORMED);
	buf[3] = 0;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_OK);
}

Test(unit_wire, artifact_body_len_with_flag_clear)
{
	uint8_t buf[256];
	size_t len = wire_test_unhex(GOLDEN_ARTIFACT, buf, sizeof buf);
	buf[2] = 0; /* body flag clear, body_len still 4, body bytes still there */
	struct artifact a;
	cr_assert_eq(artifact_decode(buf, len, &a), WIRE_EMALFORMED);
}

Test(unit_wire, trailing_byte_rejected_by_every_decoder)
{
	uint8_t art[257], sig[SIGNAL_FRAME_LEN + 1], ckp[CHECKPOINT_FRAME_LEN + 1];
	size_t art_len = wire_test_unhex(GOLDEN_ARTIFACT, art, sizeof art);
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	wire_test_unhex(GOLDEN_CHECKPOINT, ckp, sizeof ckp);
	art[art_len] = sig[SIGNAL_FRAME_LEN] = ckp[CHECKPOINT_FRAME_LEN] = 0;
	struct artifact a;
	struct signal_frame s;
	struct checkpoint_frame c;
	cr_assert_eq(artifact_decode(art, art_len + 1, &a), WIRE_EMALFORMED);
	cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_EMALFORMED);
	cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_EMALFORMED);
}

Test(unit_wire, signal_bad_stage)
{
	uint8_t buf[SIGNAL_FRAME_LEN];
	wire_test_unhex(GOLDEN_SIGNAL, buf, sizeof buf);
	struct signal_frame s;
	const uint8_t stages[] = { 0, 3, 0x81, 0xff };
	for (size_t i = 0; i < sizeof stages; i++) {
		buf[2] = stages[i];
		cr_assert_eq(signal_decode(buf, sizeof buf, &s), WIRE_EMALFORMED, "stage %u", stages[i]);
	}
	buf[2] = STAGE_START;
	cr_assert_eq(signal_decode(buf, sizeof buf, &s), WIRE_OK);
	cr_assert_eq(s.stage, STAGE_START);
}

Test(unit_wire, checkpoint_nonzero_reserved)
{
	uint8_t buf[CHECKPOINT_FRAME_LEN];
	wire_test_unhex(GOLDEN_CHECKPOINT, buf, sizeof buf);
	struct checkpoint_frame c;
	buf[2] = 0x01;
	cr_assert_eq(checkpoint_decode(buf, sizeof buf, &c), WIRE_EMALFORMED);
	buf[2] = 0x80;
	cr_assert_eq(checkpoint_decode(buf, sizeof buf, &c), WIRE_EMALFORMED);
}

/* Applies one corruption of the name field (at offset 3: id_len, id[32]) to
 * both fixed frames and expects EMALFORMED from both decoders. */
static void expect_bad_name(uint8_t id_len, size_t at, uint8_t byte)
{
	uint8_t sig[SIGNAL_FRAME_LEN], ckp[CHECKPOINT_FRAME_LEN];
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	wire_test_unhex(GOLDEN_CHECKPOINT, ckp, sizeof ckp);
	sig[3] = ckp[3] = id_len;
	sig[4 + at] = ckp[4 + at] = byte;
	struct signal_frame s;
	struct checkpoint_frame c;
	cr_assert_eq(signal_decode(sig, sizeof sig, &s), WIRE_EMALFORMED, "id_len %u, byte %#x at %zu",
		     id_len, byte, at);
	cr_assert_eq(checkpoint_decode(ckp, sizeof ckp, &c), WIRE_EMALFORMED, "id_len %u, byte %#x at %zu",
		     id_len, byte, at);
}

Test(unit_wire, nonzero_name_padding)
{
	/* "prov_1" is 6 bytes; every padding byte must be zero. */
	expect_bad_name(6, 6, 'x');
	expect_bad_name(6, 31, 0x01);
	/* A shorter id_len leaves real name bytes in the padding. */
	expect_bad_name(5, 0, 'p');
}

Test(unit_wire, invalid_name_bytes)
{
	expect_bad_name(0, 0, 0);     /* empty name */
	expect_bad_name(6, 2, '.');
	expect_bad_name(6, 0, ' ');
	expect_bad_name(6, 5, '/');
	expect_bad_name(6, 3, 0x00);  /* NUL inside the declared name */
	expect_bad_name(6, 1, 0xc3);  /* non-ASCII */
	expect_bad_name(6, 4, '\n');
}

Test(unit_wire, encoders_refuse_invalid_fields)
{
	uint8_t sig[SIGNAL_FRAME_LEN], ckp[CHECKPOINT_FRAME_LEN];
	struct signal_frame s = sample_signal();
	s.stage = 0;
	cr_assert_not(signal_encode(&s, sig));
	s.stage = 3;
	cr_assert_not(signal_encode(&s, sig));
	s = sample_signal();
	strcpy(s.provider, "bad name");
	cr_assert_not(signal_encode(&s, sig));
	s.provider[0] = '\0';
	cr_assert_not(signal_encode(&s, sig));
	/* An unterminated array (33 name bytes) is not read past its end. */
	memset(s.provider, 'a', sizeof s.provider);
	cr_assert_not(signal_encode(&s, sig));

	struct checkpoint_frame c = sample_checkpoint();
	strcpy(c.provider, "a.b");
	cr_assert_not(checkpoint_encode(&c, ckp));
	memset(c.provider, 'a', sizeof c.provider);
	cr_assert_not(checkpoint_encode(&c, ckp));
}

/* ---- small helpers ---- */

Test(unit_wire, provider_name_rules)
{
	char longest[WIRE_PROVIDER_ID_MAX + 2];
	memset(longest, 'x', sizeof longest);
	longest[WIRE_PROVIDER_ID_MAX] = '\0';
	cr_assert(wire_provider_name_valid(longest));
	longest[WIRE_PROVIDER_ID_MAX] = 'x';
	longest[WIRE_PROVIDER_ID_MAX + 1] = '\0';
	cr_assert_not(wire_provider_name_valid(longest));

	cr_assert(wire_provider_name_valid("A"));
	cr_assert(wire_provider_name_valid("az-AZ_09"));
	cr_assert_not(wire_provider_name_valid(""));
	cr_assert_not(wire_provider_name_valid(NULL));
	cr_assert_not(wire_provider_name_valid("a b"));
	cr_assert_not(wire_provider_name_valid("a/b"));
	cr_assert_not(wire_provider_name_valid("a.b"));
	cr_assert_not(wire_provider_name_valid("caf\xc3\xa9"));
}

Test(unit_wire, peek_type_stage_names_and_strerror)
{
	uint8_t sig[SIGNAL_FRAME_LEN];
	wire_test_unhex(GOLDEN_SIGNAL, sig, sizeof sig);
	cr_assert_eq(wire_peek_type(sig, sizeof sig), WIRE_SIGNAL);
	cr_assert_eq(wire_peek_type(sig, 2), WIRE_SIGNAL);
	cr_assert_eq(wire_peek_type(sig, 1), 0);
	cr_assert_eq(wire_peek_type(sig, 0), 0);

	cr_assert_str_eq(wire_stage_name(STAGE_START), "START");
	cr_assert_str_eq(wire_stage_name(STAGE_COMPLETE), "COMPLETE");
	cr_assert_null(wire_stage_name(0));
	cr_assert_null(wire_stage_name(3));

	for (int i = 0; i < WIRE_ERR_COUNT; i++) {
		cr_assert_not_null(wire_strerror((enum wire_err)i));
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(wire_strerror((enum wire_err)i), wire_strerror((enum wire_err)j));
	}
}

/* ---- artifact messages: whole frames back to back ---- */

Test(unit_wire, artifact_frames_back_to_back_split_by_their_declared_lengths)
{
	uint8_t msg[1024];
	struct artifact a = sample_artifact();
	size_t first = artifact_encode(&a, true, msg, sizeof msg);
	size_t second = artifact_encode(&a, false, msg + first, sizeof msg - first);
	cr_assert(first > 0 && second > 0);
	cr_assert_eq(artifact_frame_len(msg, first + second), first);
	cr_assert_eq(artifact_frame_len(msg + first, second), second);
	struct artifact b;
	cr_assert_eq(artifact_decode(msg + first, second, &b), WIRE_OK);
	cr_assert_not(b.has_body);
	/* less than a header: nothing to split by */
	cr_assert_eq(artifact_frame_len(msg, ARTIFACT_HDR_LEN - 1), 0);
	/* a declared length over its maximum: no length to trust */
	uint8_t bad[ARTIFACT_HDR_LEN];
	memcpy(bad, msg, sizeof bad);
	bad[ARTIFACT_HDR_LEN - 4] = 0xff; /* the body length's high byte */
	cr_assert_eq(artifact_frame_len(bad, sizeof bad), 0);
	/* a frame longer than what follows: its length, for the caller to see it cut */
	cr_assert_eq(artifact_frame_len(msg, first - 1), first);
}
