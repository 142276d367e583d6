/* SPDX-License-Identifier: Apache-2.0 */
/* Provider tokens: every refusal class, replay, the bounded cache, and a
 * vector computed outside this code (python3's hmac module). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/token.h"

#define NOW 1700000000u
#define TTL 300u
#define CTX "CTX_ALPHA"

static uint8_t key[32];
static uint8_t repr[32]; /* SHA256("hello") */
static char repr_hex[65];
static struct replay_cache cache;

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	derive_request_repr((const uint8_t *)"hello", 5, repr);
	hex_encode(repr, 32, repr_hex);
	cr_assert_eq(replay_cache_init(&cache, 1024, TTL), 0);
}

static void teardown(void)
{
	replay_cache_free(&cache);
}

TestSuite(unit_token, .init = setup, .fini = teardown);

static enum token_refusal check_at(const char *hdr, uint64_t now)
{
	return token_check_header(hdr, strlen(hdr), key, repr, CTX, strlen(CTX), now, TTL, &cache);
}

static enum token_refusal check(const char *hdr)
{
	return check_at(hdr, NOW);
}

static void assert_refusal(enum token_refusal got, enum token_refusal want, const char *what)
{
	cr_assert_eq(got, want, "%s: got '%s', want '%s'", what, token_refusal_name(got), token_refusal_name(want));
}

static const char *mint(const char *ctx, const char *nonce, uint64_t expiry)
{
	static char buf[4][1024];
	static int next;
	char *out = buf[next++ % 4];
	cr_assert_gt(token_mint(key, repr, ctx, nonce, expiry, out, sizeof(buf[0])), 0);
	return out;
}

/* HMAC over one concatenated buffer (token.c streams the parts). */
static void sign_hex(const char *r, const char *c, const char *n, const char *e, char out[65])
{
	char msg[1024];
	int len = snprintf(msg, sizeof(msg), "%s|%s|%s|%s", r, c, n, e);
	cr_assert(len > 0 && (size_t)len < sizeof(msg));
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256(mac, (const uint8_t *)msg, (size_t)len, key);
	hex_encode(mac, sizeof(mac), out);
}

static const char *b64(const char *text)
{
	static char buf[4][4200];
	static int next;
	char *out = buf[next++ % 4];
	cr_assert_not_null(sodium_bin2base64(out, sizeof(buf[0]), (const uint8_t *)text, strlen(text),
					     sodium_base64_VARIANT_URLSAFE_NO_PADDING));
	return out;
}

/* A token from raw field texts (already JSON-quoted or not), correctly
 * signed over the given strings, for tests of formats and types. */
static const char *signed_json(const char *r, const char *c, const char *n, const char *e)
{
	char s[65], json[2048];
	sign_hex(r, c, n, e, s);
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"%s\",\"e\":\"%s\",\"s\":\"%s\"}", r, c, n, e, s);
	return b64(json);
}

/* python3 -c 'import hmac,hashlib,json,base64; key=bytes(range(32));
 *   r=hashlib.sha256(b"hello").hexdigest();
 *   s=hmac.new(key,(r+"|CTX_ALPHA|n-0001|1700000300").encode(),hashlib.sha256).hexdigest();
 *   print(s, base64.urlsafe_b64encode(json.dumps({"r":r,"c":"CTX_ALPHA","n":"n-0001",
 *         "e":"1700000300","s":s},separators=(",",":")).encode()).decode())' */
#define PY_SIG "b155c7d9967554ce7a7850d9e8ff6affe182e3faf3432aecfa03c3651aa63617"
#define PY_TOKEN                                                                                                      \
	"eyJyIjoiMmNmMjRkYmE1ZmIwYTMwZTI2ZTgzYjJhYzViOWUyOWUxYjE2MWU1YzFmYTc0MjVlNzMwNDMzNjI5MzhiOTgyNCIsImMiOiJDVFhfQUxQ" \
	"SEEiLCJuIjoibi0wMDAxIiwiZSI6IjE3MDAwMDAzMDAiLCJzIjoiYjE1NWM3ZDk5Njc1NTRjZTdhNzg1MGQ5ZThmZjZhZmZlMTgyZTNmYWYzNDMy" \
	"YWVjZmEwM2MzNjUxYWE2MzYxNyJ9"

Test(unit_token, python_vector)
{
	char s[65];
	sign_hex(repr_hex, CTX, "n-0001", "1700000300", s);
	cr_assert_str_eq(s, PY_SIG, "libsodium's HMAC disagrees with python's");
	cr_assert_str_eq(mint(CTX, "n-0001", 1700000300), PY_TOKEN, "token_mint disagrees with python");
	assert_refusal(check(PY_TOKEN), TOKEN_OK, "python's token");
	assert_refusal(check(PY_TOKEN), TOKEN_REPLAYED, "python's token again");
}

Test(unit_token, valid_then_replayed)
{
	const char *t = mint(CTX, "nonce-1", NOW + 60);
	assert_refusal(check(t), TOKEN_OK, "first use");
	assert_refusal(check(t), TOKEN_REPLAYED, "second use");
	assert_refusal(check(mint(CTX, "nonce-1", NOW + 61)), TOKEN_REPLAYED, "same nonce, other expiry");
	assert_refusal(check(mint(CTX, "nonce-2", NOW + 60)), TOKEN_OK, "a fresh nonce");
}

Test(unit_token, padding_optional)
{
	/* Of three nonce lengths, at least two give a token that needs padding. */
	const char *t = NULL;
	size_t len = 0;
	for (const char *n = "ppp"; *n && (len % 4 == 0); n++) {
		t = mint(CTX, n, NOW + 60);
		len = strlen(t);
	}
	cr_assert_neq(len % 4, 0);
	char padded[1100];
	snprintf(padded, sizeof(padded), "%s%.*s", t, (int)(4 - len % 4), "===");
	char wrong[1100];
	snprintf(wrong, sizeof(wrong), "%s====", t);
	assert_refusal(check(wrong), TOKEN_MALFORMED_B64, "too much padding");
	assert_refusal(check(padded), TOKEN_OK, "padded");
	assert_refusal(check(t), TOKEN_REPLAYED, "the same token unpadded");
}

Test(unit_token, forged_signature)
{
	uint8_t other[32];
	memset(other, 0xA5, sizeof(other));
	char t[1024];
	cr_assert_gt(token_mint(other, repr, CTX, "forged", NOW + 60, t, sizeof(t)), 0);
	assert_refusal(check(t), TOKEN_BAD_SIGNATURE, "signed with another key");

	char s[65];
	sign_hex(repr_hex, CTX, "flip", "1700000060", s);
	s[10] = s[10] == '0' ? '1' : '0';
	char json[512];
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"flip\",\"e\":\"1700000060\",\"s\":\"%s\"}", repr_hex,
		 CTX, s);
	assert_refusal(check(b64(json)), TOKEN_BAD_SIGNATURE, "one digit of s changed");
	/* Neither forged token consumed its nonce. */
	assert_refusal(check(mint(CTX, "forged", NOW + 60)), TOKEN_OK, "genuine token after the forgeries");
	assert_refusal(check(mint(CTX, "flip", NOW + 60)), TOKEN_OK, "genuine token after the forgeries");
}

Test(unit_token, expiry_window)
{
	assert_refusal(check(mint(CTX, "e1", NOW)), TOKEN_EXPIRED, "e == now");
	assert_refusal(check(mint(CTX, "e2", NOW - 1)), TOKEN_EXPIRED, "e in the past");
	assert_refusal(check(mint(CTX, "e3", 0)), TOKEN_EXPIRED, "e = 0");
	assert_refusal(check(mint(CTX, "e4", NOW + TTL + 1)), TOKEN_EXPIRY_TOO_FAR, "beyond max_token_ttl");
	assert_refusal(check(mint(CTX, "e5", UINT64_MAX)), TOKEN_EXPIRY_TOO_FAR, "largest expiry");
	assert_refusal(check(mint(CTX, "e6", NOW + TTL)), TOKEN_OK, "exactly max_token_ttl");
	assert_refusal(check(mint(CTX, "e1", NOW + 1)), TOKEN_OK, "the expired token's nonce is still free");
}

Test(unit_token, non_numeric_or_absurd_expiry)
{
	const char *bad[] = { "abc", "-5", "+5", "012", "00", "1e9", " 5", "5 ", "0x10", "",
			      "18446744073709551616", "123456789012345678901", "1700000060.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refusal(check(signed_json(repr_hex, CTX, "x", bad[i])), TOKEN_BAD_FIELD, bad[i]);
	assert_refusal(check(signed_json(repr_hex, CTX, "x", "18446744073709551615")), TOKEN_EXPIRY_TOO_FAR,
		       "UINT64_MAX");
	assert_refusal(check(signed_json(repr_hex, CTX, "x", "1700000060")), TOKEN_OK, "well formed");
}

Test(unit_token, r_and_c_must_match)
{
	uint8_t other_repr[32];
	derive_request_repr((const uint8_t *)"hellO", 5, other_repr);
	char t[1024];
	cr_assert_gt(token_mint(key, other_repr, CTX, "r1", NOW + 60, t, sizeof(t)), 0);
	assert_refusal(check(t), TOKEN_REPR_MISMATCH, "token for another body");
	assert_refusal(check(mint("CTX_BETA", "c1", NOW + 60)), TOKEN_CONTEXT_MISMATCH, "other context");
	assert_refusal(check(mint("CTX_ALPH", "c2", NOW + 60)), TOKEN_CONTEXT_MISMATCH, "prefix of the context");
	assert_refusal(check(mint("CTX_ALPHA ", "c3", NOW + 60)), TOKEN_CONTEXT_MISMATCH, "longer context");
	assert_refusal(check(mint("", "c4", NOW + 60)), TOKEN_CONTEXT_MISMATCH, "empty context");
	/* An empty context is a context like any other. */
	const char *t_empty = mint("", "c5", NOW + 60);
	assert_refusal(token_check_header(t_empty, strlen(t_empty), key, repr, "", 0, NOW, TTL, &cache), TOKEN_OK,
		       "empty context matches empty context");
}

/* '|' in n would let a token signed for c = "A|b", n = "x" be re-read as
 * c = "A", n = "b|x" under the same signature. */
Test(unit_token, separator_in_nonce_refused)
{
	char s[65];
	sign_hex(repr_hex, CTX, "b|x", "1700000060", s);
	char s2[65];
	sign_hex(repr_hex, CTX "|b", "x", "1700000060", s2);
	cr_assert_str_eq(s, s2, "both readings sign the same string");
	assert_refusal(check(signed_json(repr_hex, CTX, "b|x", "1700000060")), TOKEN_BAD_FIELD, "'|' in the nonce");
	char out[1024];
	cr_assert_eq(token_mint(key, repr, CTX, "b|x", NOW + 60, out, sizeof(out)), 0);
}

Test(unit_token, field_formats)
{
	char upper[65];
	snprintf(upper, sizeof(upper), "%s", repr_hex);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	char long_nonce[200];
	memset(long_nonce, 'n', 129);
	long_nonce[129] = '\0';
	assert_refusal(check(signed_json(upper, CTX, "f1", "1700000060")), TOKEN_BAD_FIELD, "uppercase r");
	assert_refusal(check(signed_json("abcd", CTX, "f2", "1700000060")), TOKEN_BAD_FIELD, "short r");
	assert_refusal(check(signed_json(repr_hex, CTX, "", "1700000060")), TOKEN_BAD_FIELD, "empty nonce");
	assert_refusal(check(signed_json(repr_hex, CTX, long_nonce, "1700000060")), TOKEN_BAD_FIELD, "129-byte nonce");
	assert_refusal(check(signed_json(repr_hex, CTX, "tab\\there", "1700000060")), TOKEN_BAD_FIELD,
		       "control byte in nonce");
	assert_refusal(check(signed_json(repr_hex, CTX, "caf\xc3\xa9", "1700000060")), TOKEN_BAD_FIELD,
		       "non-ASCII nonce");
	long_nonce[128] = '\0';
	assert_refusal(check(signed_json(repr_hex, CTX, long_nonce, "1700000060")), TOKEN_OK, "128-byte nonce");

	char json[512];
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"f3\",\"e\":\"1700000060\",\"s\":\"abc\"}", repr_hex,
		 CTX);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "short s");
}

Test(unit_token, missing_extra_and_mistyped_fields)
{
	char s[65];
	sign_hex(repr_hex, CTX, "m", "1700000060", s);
	const char *names[] = { "r", "c", "n", "e", "s" };
	const char *values[] = { repr_hex, CTX, "m", "1700000060", s };
	for (int drop = 0; drop < 5; drop++) {
		char json[1024] = "{";
		for (int i = 0; i < 5; i++) {
			if (i == drop)
				continue;
			snprintf(json + strlen(json), sizeof(json) - strlen(json), "%s\"%s\":\"%s\"",
				 strlen(json) > 1 ? "," : "", names[i], values[i]);
		}
		strcat(json, "}");
		assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, names[drop]);
	}
	char json[1024];
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"m\",\"e\":\"1700000060\",\"s\":\"%s\",\"x\":\"1\"}",
		 repr_hex, CTX, s);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "extra field");
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"m\",\"e\":1700000060,\"s\":\"%s\"}", repr_hex, CTX,
		 s);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "e as a number");
	snprintf(json, sizeof(json), "{\"r\":null,\"c\":\"%s\",\"n\":\"m\",\"e\":\"1700000060\",\"s\":\"%s\"}", CTX, s);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "r null");
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":[\"%s\"],\"n\":\"m\",\"e\":\"1700000060\",\"s\":\"%s\"}", repr_hex,
		 CTX, s);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "c an array");
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":{},\"e\":\"1700000060\",\"s\":\"%s\"}", repr_hex, CTX,
		 s);
	assert_refusal(check(b64(json)), TOKEN_BAD_FIELD, "n an object");
	snprintf(json, sizeof(json), "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"m\",\"e\":\"1700000060\",\"s\":\"%s\",\"s\":\"%s\"}",
		 repr_hex, CTX, s, s);
	assert_refusal(check(b64(json)), TOKEN_MALFORMED_JSON, "duplicate s");
	assert_refusal(check(b64("{}")), TOKEN_BAD_FIELD, "empty object");
	assert_refusal(check(mint(CTX, "m", NOW + 60)), TOKEN_OK, "nonce still unused");
}

Test(unit_token, missing_header)
{
	assert_refusal(token_check_header(NULL, 0, key, repr, CTX, 9, NOW, TTL, &cache), TOKEN_MISSING, "no header");
	assert_refusal(check(""), TOKEN_MISSING, "empty header");
	assert_refusal(check(" , ,\t,"), TOKEN_MISSING, "separators only");
}

Test(unit_token, malformed_structure)
{
	assert_refusal(check("!!!!"), TOKEN_MALFORMED_B64, "not base64");
	assert_refusal(check("ab+/"), TOKEN_MALFORMED_B64, "standard alphabet");
	assert_refusal(check("a"), TOKEN_MALFORMED_B64, "one character");
	assert_refusal(check("ab=c"), TOKEN_MALFORMED_B64, "padding inside");
	assert_refusal(check("ab c"), TOKEN_MALFORMED_B64, "space inside");
	assert_refusal(check("=="), TOKEN_MALFORMED_B64, "padding only");
	assert_refusal(check(b64("hello")), TOKEN_MALFORMED_JSON, "not JSON");
	assert_refusal(check(b64("{\"r\":")), TOKEN_MALFORMED_JSON, "truncated JSON");
	assert_refusal(check(b64("{\"r\":\"a\"} x")), TOKEN_MALFORMED_JSON, "trailing text");
	assert_refusal(check(b64("{\"r\":\"a\\u0000b\"}")), TOKEN_MALFORMED_JSON, "NUL in a string");
	assert_refusal(check(b64("[1,2]")), TOKEN_NOT_OBJECT, "array");
	assert_refusal(check(b64("\"text\"")), TOKEN_NOT_OBJECT, "string");
	assert_refusal(check(b64("42")), TOKEN_NOT_OBJECT, "number");
	assert_refusal(check(b64("null")), TOKEN_NOT_OBJECT, "null");
}

Test(unit_token, oversize)
{
	char hdr[TOKEN_HEADER_MAX + 2];
	const char *t = mint(CTX, "big", NOW + 60);
	memset(hdr, ' ', sizeof(hdr));
	memcpy(hdr, t, strlen(t));
	assert_refusal(token_check_header(hdr, TOKEN_HEADER_MAX + 1, key, repr, CTX, 9, NOW, TTL, &cache),
		       TOKEN_OVERSIZE, "4097 bytes");
	assert_refusal(token_check_header(hdr, TOKEN_HEADER_MAX, key, repr, CTX, 9, NOW, TTL, &cache), TOKEN_OK,
		       "4096 bytes, trailing spaces");
	char json[TOKEN_HEADER_MAX];
	memset(json, 'A', sizeof(json) - 4);
	json[sizeof(json) - 4] = '\0';
	assert_refusal(check(json), TOKEN_MALFORMED_JSON, "4092 base64 characters of NUL bytes");
}

Test(unit_token, several_tokens_in_one_header)
{
	char hdr[4096];
	snprintf(hdr, sizeof(hdr), "!!!, %s ,\t%s , %s", b64("[]"), mint(CTX, "multi", NOW + 60),
		 mint("CTX_BETA", "x", NOW + 60));
	assert_refusal(check(hdr), TOKEN_OK, "one valid among garbage");
	assert_refusal(check(hdr), TOKEN_REPLAYED, "same header again: the valid one is now a replay");
	snprintf(hdr, sizeof(hdr), "%s,%s,!!", mint(CTX, "late", NOW - 5), b64("{}"));
	assert_refusal(check(hdr), TOKEN_EXPIRED, "the refusal that got furthest is reported");
	assert_refusal(check(mint(CTX, "late", NOW + 5)), TOKEN_OK, "refused tokens did not consume nonces");
	snprintf(hdr, sizeof(hdr), "%s,%s", mint(CTX, "two-a", NOW + 60), mint(CTX, "two-b", NOW + 60));
	assert_refusal(check(hdr), TOKEN_OK, "two valid tokens");
	assert_refusal(check(mint(CTX, "two-b", NOW + 60)), TOKEN_OK, "only the first valid token's nonce is used");
}

Test(unit_token, replay_cache_full_then_swept)
{
	struct replay_cache small;
	cr_assert_eq(replay_cache_init(&small, 16, 100), 0);
	char nonce[16];
	for (int i = 0; i < 16; i++) {
		snprintf(nonce, sizeof(nonce), "fill-%d", i);
		const char *t = mint(CTX, nonce, NOW + 10);
		assert_refusal(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, &small), TOKEN_OK, nonce);
	}
	const char *extra = mint(CTX, "extra", NOW + 200);
	assert_refusal(token_check_header(extra, strlen(extra), key, repr, CTX, 9, NOW + 50, TTL, &small),
		       TOKEN_REPLAY_CACHE_FULL, "full of live entries");
	const char *reuse = mint(CTX, "fill-3", NOW + 200);
	assert_refusal(token_check_header(reuse, strlen(reuse), key, repr, CTX, 9, NOW + 99, TTL, &small),
		       TOKEN_REPLAYED, "window outlives the token: its nonce is still taken");
	/* Every entry is kept until NOW + 100 (the window beats e = NOW + 10). */
	assert_refusal(token_check_header(extra, strlen(extra), key, repr, CTX, 9, NOW + 100, TTL, &small), TOKEN_OK,
		       "after the window the cache is swept");
	assert_refusal(token_check_header(reuse, strlen(reuse), key, repr, CTX, 9, NOW + 101, TTL, &small), TOKEN_OK,
		       "a swept nonce may be used again");
	assert_refusal(token_check_header(reuse, strlen(reuse), key, repr, CTX, 9, NOW + 102, TTL, &small),
		       TOKEN_REPLAYED, "and is remembered again");
	replay_cache_free(&small);
}

Test(unit_token, entries_outlive_window_until_token_expiry)
{
	struct replay_cache rc;
	cr_assert_eq(replay_cache_init(&rc, 16, 1), 0); /* window shorter than the token */
	const char *t = mint(CTX, "long", NOW + 250);
	assert_refusal(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, &rc), TOKEN_OK, "first");
	assert_refusal(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW + 249, TTL, &rc), TOKEN_REPLAYED,
		       "replayed while still valid, long after the window");
	replay_cache_free(&rc);
}

Test(unit_token, cache_grows_to_its_bound)
{
	struct replay_cache rc;
	cr_assert_eq(replay_cache_init(&rc, 5000, TTL), 0);
	char nonce[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(nonce, sizeof(nonce), "g%d", i);
		const char *t = mint(CTX, nonce, NOW + 60);
		cr_assert_eq(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, &rc), TOKEN_OK, "%s", nonce);
	}
	cr_assert_eq(rc.count, 5000);
	for (int i = 0; i < 5000; i += 499) {
		snprintf(nonce, sizeof(nonce), "g%d", i);
		const char *t = mint(CTX, nonce, NOW + 60);
		cr_assert_eq(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, &rc), TOKEN_REPLAYED, "%s",
			     nonce);
	}
	const char *t = mint(CTX, "one-more", NOW + 60);
	assert_refusal(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, &rc), TOKEN_REPLAY_CACHE_FULL,
		       "5001st");
	replay_cache_free(&rc);
}

Test(unit_token, init_bounds_and_null_cache)
{
	struct replay_cache rc;
	cr_assert_eq(replay_cache_init(&rc, 0, 10), -1);
	cr_assert_eq(replay_cache_init(&rc, 16777217, 10), -1);
	const char *t = mint(CTX, "nocache", NOW + 60);
	assert_refusal(token_check_header(t, strlen(t), key, repr, CTX, 9, NOW, TTL, NULL), TOKEN_REPLAY_CACHE_FULL,
		       "no cache: fail closed");
}

Test(unit_token, mint_refuses_bad_arguments)
{
	char out[1024];
	char long_ctx[300];
	memset(long_ctx, 'c', 257);
	long_ctx[257] = '\0';
	cr_assert_eq(token_mint(key, repr, long_ctx, "n", NOW, out, sizeof(out)), 0, "context over 256 bytes");
	cr_assert_eq(token_mint(key, repr, CTX, "", NOW, out, sizeof(out)), 0, "empty nonce");
	cr_assert_eq(token_mint(key, repr, CTX, "a\nb", NOW, out, sizeof(out)), 0, "control byte in nonce");
	cr_assert_eq(token_mint(key, repr, "\xff", "n", NOW, out, sizeof(out)), 0, "context not UTF-8");
	size_t len = token_mint(key, repr, CTX, "n", NOW, out, sizeof(out));
	cr_assert_gt(len, 0);
	cr_assert_eq(strlen(out), len);
	cr_assert_eq(token_mint(key, repr, CTX, "n", NOW, out, len), 0, "no room for the NUL");
	cr_assert_eq(token_mint(key, repr, CTX, "n", NOW, out, len + 1), len);
}

Test(unit_token, refusal_names)
{
	for (int i = 0; i < TOKEN_REFUSAL_COUNT; i++) {
		const char *a = token_refusal_name((enum token_refusal)i);
		cr_assert_not_null(a);
		cr_assert_str_neq(a, "unknown");
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(a, token_refusal_name((enum token_refusal)j), "names %d and %d collide", i, j);
	}
	cr_assert_str_eq(token_refusal_name(TOKEN_REFUSAL_COUNT), "unknown");
	cr_assert_str_eq(token_refusal_name(TOKEN_OK), "ok");
}
