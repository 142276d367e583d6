/* SPDX-License-Identifier: Apache-2.0 */
/* Derivations of the wire contract. Strings are hashed piece by piece through
 * an incremental SHA-256 (sha256.h), so no formatted copy of a body or
 * context is ever built. */
#include "derive.h"
#include "sha256.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Largest binary value hashed as hex here: a digest. */
#define HEX_MAX_BYTES WIRE_DIGEST_LEN

static void hash_bytes(sha256_state *st, const void *p, size_t n)
{
	if (n > 0)
		sha256_add(st, p, n);
}

static void hash_str(sha256_state *st, const char *s)
{
	hash_bytes(st, s, strlen(s));
}

static void hash_hex(sha256_state *st, const uint8_t *in, size_t n)
{
	char hex[2 * HEX_MAX_BYTES + 1];
	hex_encode(in, n, hex);
	hash_bytes(st, hex, 2 * n);
}

static void hash_u8(sha256_state *st, uint8_t v)
{
	hash_bytes(st, &v, 1);
}

void derive_request_repr(const uint8_t *body, size_t len, uint8_t out[WIRE_DIGEST_LEN])
{
	sha256_state st;
	sha256_start(&st);
	hash_bytes(&st, body, len);
	sha256_end(&st, out);
}

void derive_binding(const uint8_t request_repr[WIRE_DIGEST_LEN], const char *context, size_t context_len,
		    uint8_t out[WIRE_DIGEST_LEN])
{
	sha256_state st;
	sha256_start(&st);
	hash_str(&st, "NUVL_BIND_V1|");
	hash_hex(&st, request_repr, WIRE_DIGEST_LEN);
	hash_str(&st, "|");
	hash_bytes(&st, context, context_len);
	sha256_end(&st, out);
}

void derive_operation_id(const uint8_t request_repr[WIRE_DIGEST_LEN],
			 const uint8_t correlation[WIRE_CORRELATION_LEN], uint8_t out[WIRE_DIGEST_LEN])
{
	sha256_state st;
	sha256_start(&st);
	hash_str(&st, "MPBS_OP_V1|");
	hash_hex(&st, request_repr, WIRE_DIGEST_LEN);
	hash_str(&st, "|");
	hash_hex(&st, correlation, WIRE_CORRELATION_LEN);
	sha256_end(&st, out);
}

void derive_chain_origin(const uint8_t epoch[WIRE_EPOCH_LEN], uint8_t out[WIRE_DIGEST_LEN])
{
	sha256_state st;
	sha256_start(&st);
	hash_str(&st, "MPBS_CHAIN_V1|");
	sha256_add(&st, epoch, WIRE_EPOCH_LEN);
	sha256_end(&st, out);
}

void derive_chain_next(const uint8_t prev[WIRE_DIGEST_LEN], const uint8_t canon[SIGNAL_CANON_LEN],
		       uint8_t out[WIRE_DIGEST_LEN])
{
	sha256_state st;
	sha256_start(&st);
	hash_bytes(&st, prev, WIRE_DIGEST_LEN);
	hash_bytes(&st, canon, SIGNAL_CANON_LEN);
	sha256_end(&st, out);
}

/* Provider names are at most WIRE_PROVIDER_ID_MAX bytes; the bound keeps the
 * u8 length prefix honest even for a name that never went through validation. */
static size_t part_name_len(const char *name)
{
	return strnlen(name, UINT8_MAX);
}

static int part_cmp(const void *a, const void *b)
{
	const struct linkage_part *pa = a, *pb = b;
	size_t la = part_name_len(pa->provider), lb = part_name_len(pb->provider);
	int c = memcmp(pa->provider, pb->provider, la < lb ? la : lb);
	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

static void hash_part_stage(sha256_state *st, const char *name, uint8_t stage,
			    const uint8_t value[WIRE_DIGEST_LEN])
{
	size_t len = part_name_len(name);
	hash_u8(st, (uint8_t)len);
	hash_bytes(st, name, len);
	hash_u8(st, stage);
	hash_bytes(st, value, WIRE_DIGEST_LEN);
}

void derive_linkage(const uint8_t op[WIRE_DIGEST_LEN], struct linkage_part *parts, size_t n,
		    uint8_t out[WIRE_DIGEST_LEN])
{
	if (n > 1)
		qsort(parts, n, sizeof *parts, part_cmp);

	sha256_state st;
	sha256_start(&st);
	hash_bytes(&st, op, WIRE_DIGEST_LEN);
	for (size_t i = 0; i < n; i++) {
		hash_part_stage(&st, parts[i].provider, STAGE_START, parts[i].start);
		hash_part_stage(&st, parts[i].provider, STAGE_COMPLETE, parts[i].complete);
	}
	sha256_end(&st, out);
}

void derive_complete_value(const uint8_t fresh[WIRE_DIGEST_LEN], uint32_t status, uint8_t out[WIRE_DIGEST_LEN])
{
	uint8_t status_be[4] = { (uint8_t)(status >> 24), (uint8_t)(status >> 16), (uint8_t)(status >> 8),
				 (uint8_t)status };
	sha256_state st;
	sha256_start(&st);
	hash_str(&st, "MPBS_COMPLETE_V1|");
	hash_bytes(&st, fresh, WIRE_DIGEST_LEN);
	hash_bytes(&st, status_be, sizeof status_be);
	sha256_end(&st, out);
}

/* For public values only (digests, signatures, tokens being minted): a
 * table lookup, several times faster than sodium_bin2hex, whose constant
 * time only secrets need (keys.c keeps it for keys). */
void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t n)
{
	/* in_len / 2 rather than 2 * n: the latter could wrap for absurd n. */
	if (in_len % 2 != 0 || in_len / 2 != n)
		return -1;
	/* Validate everything first so a rejected input leaves out untouched. */
	for (size_t i = 0; i < in_len; i++) {
		if (hex_digit((unsigned char)in[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(hex_digit((unsigned char)in[2 * i]) << 4 | hex_digit((unsigned char)in[2 * i + 1]));
	return 0;
}
