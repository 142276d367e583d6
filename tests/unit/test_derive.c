/* SPDX-License-Identifier: Apache-2.0 */
/* unit_derive: every derivation of lib/derive.c against digests computed
 * independently with Python's hashlib (the expression is above each value). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/derive.h"

/* Shared inputs:
 *   body  = b'{"op":"transfer","amount":42}'
 *   rr    = hashlib.sha256(body).digest()
 *   ctx   = b"CTX_ALPHA"
 *   corr  = bytes(range(16))
 *   epoch = bytes(range(0xa0, 0xb0))
 *   op    = hashlib.sha256(b"MPBS_OP_V1|" + rr.hex().encode() + b"|" + corr.hex().encode()).digest() */
static const char BODY[] = "{\"op\":\"transfer\",\"amount\":42}";

static void derive_test_unhex(const char *hex, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void assert_digest_hex(const uint8_t d[WIRE_DIGEST_LEN], const char *want_hex)
{
	uint8_t want[WIRE_DIGEST_LEN];
	derive_test_unhex(want_hex, want, sizeof want);
	cr_assert_arr_eq(d, want, WIRE_DIGEST_LEN, "digest differs from the Python vector %s", want_hex);
}

static void sample_repr(uint8_t rr[WIRE_DIGEST_LEN])
{
	derive_request_repr((const uint8_t *)BODY, strlen(BODY), rr);
}

static void sample_op(uint8_t op[WIRE_DIGEST_LEN])
{
	uint8_t rr[WIRE_DIGEST_LEN], corr[WIRE_CORRELATION_LEN];
	sample_repr(rr);
	for (int i = 0; i < WIRE_CORRELATION_LEN; i++)
		corr[i] = (uint8_t)i;
	derive_operation_id(rr, corr, op);
}

Test(unit_derive, request_repr)
{
	uint8_t rr[WIRE_DIGEST_LEN];
	/* hashlib.sha256(body).hexdigest() */
	sample_repr(rr);
	assert_digest_hex(rr, "cfe0fe6a6bc66ab43bce7cf99ec312c11749610df7c9c35e0ca7c0f11a9489b8");
	/* hashlib.sha256(b"").hexdigest() */
	derive_request_repr(NULL, 0, rr);
	assert_digest_hex(rr, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(unit_derive, binding)
{
	uint8_t rr[WIRE_DIGEST_LEN], b[WIRE_DIGEST_LEN];
	sample_repr(rr);
	/* hashlib.sha256(b"NUVL_BIND_V1|" + rr.hex().encode() + b"|" + ctx).hexdigest() */
	derive_binding(rr, "CTX_ALPHA", 9, b);
	assert_digest_hex(b, "f334010e87bcb9f3e63695fbb7ad814f95f1513eb9f6012c12b877e3580bf28a");
	/* hashlib.sha256(b"NUVL_BIND_V1|" + rr.hex().encode() + b"|").hexdigest() */
	derive_binding(rr, NULL, 0, b);
	assert_digest_hex(b, "fa3dd8ae817544f27ad0e02f2134ac3bb1323c6230d6852da78740951f9b6442");
	/* The length, not a terminator, bounds the context. */
	derive_binding(rr, "CTX_ALPHA_AND_MORE", 9, b);
	assert_digest_hex(b, "f334010e87bcb9f3e63695fbb7ad814f95f1513eb9f6012c12b877e3580bf28a");
}

Test(unit_derive, operation_id)
{
	uint8_t op[WIRE_DIGEST_LEN];
	/* op.hex() */
	sample_op(op);
	assert_digest_hex(op, "1076e65d9dbb82e8e2ad6d5e11a3a76f45fdf84b4a1b9cd1ec6235b63680302f");
}

Test(unit_derive, chain_origin)
{
	uint8_t epoch[WIRE_EPOCH_LEN], origin[WIRE_DIGEST_LEN];
	for (int i = 0; i < WIRE_EPOCH_LEN; i++)
		epoch[i] = (uint8_t)(0xa0 + i);
	/* hashlib.sha256(b"MPBS_CHAIN_V1|" + epoch).hexdigest(): the raw bytes,
	 * as docs/ARCHITECTURE.md §3 writes it (hex(...) is spelled out where it is meant) */
	derive_chain_origin(epoch, origin);
	assert_digest_hex(origin, "db86ff815e8185fc2c83f5355190799c0e3694f9d3153caa9073fb8246b2140d");
}

Test(unit_derive, chain_next_over_canonical_signal_bytes)
{
	uint8_t epoch[WIRE_EPOCH_LEN], prev[WIRE_DIGEST_LEN], next[WIRE_DIGEST_LEN];
	for (int i = 0; i < WIRE_EPOCH_LEN; i++)
		epoch[i] = (uint8_t)(0xa0 + i);
	derive_chain_origin(epoch, prev);

	struct signal_frame s;
	memset(&s, 0, sizeof s);
	strcpy(s.provider, "A");
	s.stage = STAGE_START;
	sample_op(s.op);
	memset(s.value, 0x11, sizeof s.value);
	s.t_ns = 1700000000123456789ull;
	s.seq = 1;
	uint8_t frame[SIGNAL_FRAME_LEN];
	cr_assert(signal_encode(&s, frame));

	/* canon = struct.pack(">BBBB32s32s32sQQ", 1, 2, 1, 1, b"A", op, b"\x11"*32,
	 *                     1700000000123456789, 1)
	 * hashlib.sha256(origin + canon).hexdigest() */
	derive_chain_next(prev, frame, next);
	assert_digest_hex(next, "280aaf5034ee8c41b51c77ff9ad023489840227e7bf5e7633b91caaba92c0e34");
}

Test(unit_derive, linkage_sorts_bytewise)
{
	uint8_t op[WIRE_DIGEST_LEN], link[WIRE_DIGEST_LEN];
	sample_op(op);
	struct linkage_part parts[4] = { { .provider = "beta" }, { .provider = "alpha" },
					 { .provider = "Zed" }, { .provider = "alph" } };
	const uint8_t fill[4][2] = { { 0x21, 0x22 }, { 0x11, 0x12 }, { 0x31, 0x32 }, { 0x41, 0x42 } };
	for (int i = 0; i < 4; i++) {
		memset(parts[i].start, fill[i][0], WIRE_DIGEST_LEN);
		memset(parts[i].complete, fill[i][1], WIRE_DIGEST_LEN);
	}
	/* parts = [(b"beta",b"\x21"*32,b"\x22"*32), (b"alpha",b"\x11"*32,b"\x12"*32),
	 *          (b"Zed",b"\x31"*32,b"\x32"*32), (b"alph",b"\x41"*32,b"\x42"*32)]
	 * m = op
	 * for n, s, c in sorted(parts):
	 *     m += bytes([len(n)]) + n + b"\x01" + s + bytes([len(n)]) + n + b"\x02" + c
	 * hashlib.sha256(m).hexdigest() */
	derive_linkage(op, parts, 4, link);
	assert_digest_hex(link, "591b19057bd50949f7dbfe958d632daca86290dda75fe401c3147dd7b0d9cd75");

	/* Sorted in place: uppercase before lowercase, a prefix before its extension. */
	cr_assert_str_eq(parts[0].provider, "Zed");
	cr_assert_str_eq(parts[1].provider, "alph");
	cr_assert_str_eq(parts[2].provider, "alpha");
	cr_assert_str_eq(parts[3].provider, "beta");
	cr_assert_eq(parts[3].start[0], 0x21, "values travel with their provider");

	/* Any input order gives the same value. */
	struct linkage_part rev[4] = { parts[3], parts[2], parts[1], parts[0] };
	uint8_t again[WIRE_DIGEST_LEN];
	derive_linkage(op, rev, 4, again);
	cr_assert_arr_eq(again, link, WIRE_DIGEST_LEN);
}

Test(unit_derive, linkage_of_no_parts)
{
	uint8_t op[WIRE_DIGEST_LEN], link[WIRE_DIGEST_LEN];
	sample_op(op);
	/* hashlib.sha256(op).hexdigest() */
	derive_linkage(op, NULL, 0, link);
	assert_digest_hex(link, "c011e8448f8fca981238640ab9057283a85abad0351f000f2413e5e1df47d1fd");
}

Test(unit_derive, complete_value)
{
	uint8_t fresh[WIRE_DIGEST_LEN], v[WIRE_DIGEST_LEN];
	memset(fresh, 0x5a, sizeof fresh);
	/* hashlib.sha256(b"MPBS_COMPLETE_V1|" + b"\x5a"*32 + struct.pack(">I", 0x01020304)).hexdigest() */
	derive_complete_value(fresh, 0x01020304u, v);
	assert_digest_hex(v, "8be1eba8741c61a31f5388316b5f3d26c82c08d2f688702c65a90ba9f6332b8f");
	/* hashlib.sha256(b"MPBS_COMPLETE_V1|" + b"\x5a"*32 + struct.pack(">I", 0)).hexdigest() */
	derive_complete_value(fresh, 0, v);
	assert_digest_hex(v, "bd221308cfc47bb4beacdf7344a50ecbc4af6563c20beb177c9d31a3a7b6bb5a");
}

Test(unit_derive, hex_encode_is_lowercase_and_terminated)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof in + 2];
	memset(out, 'X', sizeof out);
	hex_encode(in, sizeof in, out);
	cr_assert_str_eq(out, "0001abcdefff");
	cr_assert_eq(out[2 * sizeof in + 1], 'X', "nothing written past the terminator");

	char empty[1] = { 'X' };
	hex_encode(in, 0, empty);
	cr_assert_str_eq(empty, "");
}

Test(unit_derive, hex_decode_accepts_either_case)
{
	uint8_t out[4];
	cr_assert_eq(hex_decode("00aBcDfF", 8, out, sizeof out), 0);
	const uint8_t want[] = { 0x00, 0xab, 0xcd, 0xff };
	cr_assert_arr_eq(out, want, sizeof want);
	cr_assert_eq(hex_decode("", 0, out, 0), 0);
}

Test(unit_derive, hex_decode_round_trips_every_byte)
{
	uint8_t in[256], out[256];
	char hex[2 * sizeof in + 1];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	hex_encode(in, sizeof in, hex);
	cr_assert_eq(hex_decode(hex, strlen(hex), out, sizeof out), 0);
	cr_assert_arr_eq(out, in, sizeof in);
}

Test(unit_derive, hex_decode_rejects_wrong_length)
{
	uint8_t out[4];
	memset(out, 0x77, sizeof out);
	cr_assert_eq(hex_decode("00112233", 7, out, 4), -1, "odd length");
	cr_assert_eq(hex_decode("001122", 6, out, 4), -1, "too short");
	cr_assert_eq(hex_decode("0011223344", 10, out, 4), -1, "too long");
	cr_assert_eq(hex_decode("001122334", 9, out, 4), -1, "one digit too many");
	cr_assert_eq(hex_decode("", 0, out, 4), -1, "empty");
	for (size_t i = 0; i < sizeof out; i++)
		cr_assert_eq(out[i], 0x77, "rejected input must not be written");
}

Test(unit_derive, hex_decode_rejects_non_hex_anywhere)
{
	const char bad[] = { 'g', 'G', ' ', 'x', ':', '/', '@', '`', '\0', '\n', (char)0xc3, '-', '+' };
	uint8_t out[4];
	for (size_t b = 0; b < sizeof bad; b++) {
		for (size_t pos = 0; pos < 8; pos++) {
			char in[8];
			memcpy(in, "0a1b2c3d", 8);
			in[pos] = bad[b];
			memset(out, 0x77, sizeof out);
			cr_assert_eq(hex_decode(in, sizeof in, out, sizeof out), -1, "byte %#x at %zu",
				     (unsigned char)bad[b], pos);
			cr_assert_eq(out[0], 0x77, "rejected input must not be written");
		}
	}
}
