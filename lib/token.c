/* SPDX-License-Identifier: Apache-2.0 */
/* Provider tokens: parsing, checking, the replay cache, minting (see token.h).
 * All cryptography is libsodium's (base64url, HMAC-SHA256, BLAKE2b); JSON is
 * jansson's, with duplicate keys refused so a token has one reading only. */
#include "token.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "derive.h"
#include "text.h"
#include "wire.h"

#define HEX_DIGEST_LEN 64
#define NONCE_HASH_LEN 16
#define REPLAY_MAX_ENTRIES 16777216u
#define REPLAY_FIRST_SLOTS 64u

static const char *const refusal_names[TOKEN_REFUSAL_COUNT] = {
	[TOKEN_OK] = "ok",
	[TOKEN_MISSING] = "missing",
	[TOKEN_OVERSIZE] = "oversize",
	[TOKEN_MALFORMED_B64] = "not base64url",
	[TOKEN_MALFORMED_JSON] = "not JSON",
	[TOKEN_NOT_OBJECT] = "JSON not an object",
	[TOKEN_BAD_FIELD] = "bad field",
	[TOKEN_REPR_MISMATCH] = "r does not match the body",
	[TOKEN_CONTEXT_MISMATCH] = "c does not match the context",
	[TOKEN_EXPIRED] = "expired",
	[TOKEN_EXPIRY_TOO_FAR] = "expiry beyond max_token_ttl",
	[TOKEN_BAD_SIGNATURE] = "bad signature",
	[TOKEN_REPLAYED] = "replayed",
	[TOKEN_REPLAY_CACHE_FULL] = "replay cache full",
};

const char *token_refusal_name(enum token_refusal r)
{
	if ((unsigned)r >= TOKEN_REFUSAL_COUNT)
		return "unknown";
	return refusal_names[r];
}

/* ---- replay cache ---------------------------------------------------- */

struct replay_slot {
	uint8_t hash[NONCE_HASH_LEN];
	uint64_t expiry; /* 0: empty (a live entry always expires after now >= 0) */
};

int replay_cache_init(struct replay_cache *rc, size_t max, uint32_t window_s)
{
	memset(rc, 0, sizeof(*rc));
	if (max == 0 || max > REPLAY_MAX_ENTRIES) {
		errno = EINVAL;
		return -1;
	}
	/* Starts small: a cache sized for millions costs memory only once used. */
	rc->n_slots = REPLAY_FIRST_SLOTS;
	rc->slots = calloc(rc->n_slots, sizeof(*rc->slots));
	if (rc->slots == NULL)
		return -1;
	rc->max = max;
	rc->window_s = window_s;
	rc->earliest_expiry = UINT64_MAX;
	randombytes_buf(rc->hash_key, sizeof(rc->hash_key));
	return 0;
}

void replay_cache_free(struct replay_cache *rc)
{
	free(rc->slots);
	sodium_memzero(rc, sizeof(*rc));
}

static size_t slot_index(const struct replay_cache *rc, const uint8_t hash[NONCE_HASH_LEN])
{
	uint64_t h;
	memcpy(&h, hash, sizeof(h)); /* already a keyed digest: any 8 bytes will do */
	return (size_t)(h & (rc->n_slots - 1));
}

/* The slot holding hash, or the empty slot where it would go. The load
 * factor stays at most 1/2, so an empty slot always exists. */
static struct replay_slot *probe(struct replay_slot *slots, size_t n_slots, size_t start,
				 const uint8_t hash[NONCE_HASH_LEN])
{
	for (size_t i = start;; i = (i + 1) & (n_slots - 1)) {
		struct replay_slot *s = &slots[i];
		if (s->expiry == 0 || memcmp(s->hash, hash, NONCE_HASH_LEN) == 0)
			return s;
	}
}

/* Moves every entry still alive at `now` (all of them when now == 0) into a
 * fresh table of n_slots, and recomputes the earliest expiry. */
static int rebuild(struct replay_cache *rc, size_t n_slots, uint64_t now)
{
	struct replay_slot *fresh = calloc(n_slots, sizeof(*fresh));
	if (fresh == NULL)
		return -1;
	size_t count = 0;
	uint64_t earliest = UINT64_MAX;
	for (size_t i = 0; i < rc->n_slots; i++) {
		const struct replay_slot *old = &rc->slots[i];
		if (old->expiry == 0 || old->expiry <= now)
			continue;
		uint64_t h;
		memcpy(&h, old->hash, sizeof(h));
		*probe(fresh, n_slots, (size_t)(h & (n_slots - 1)), old->hash) = *old;
		count++;
		if (old->expiry < earliest)
			earliest = old->expiry;
	}
	free(rc->slots);
	rc->slots = fresh;
	rc->n_slots = n_slots;
	rc->count = count;
	rc->earliest_expiry = earliest;
	return 0;
}

/* Called only when the cache is full: until the earliest entry expires a
 * sweep would free nothing, so a flood of valid tokens against a full cache
 * costs one comparison each, not a scan. */
static void sweep(struct replay_cache *rc, uint64_t now)
{
	if (now < rc->earliest_expiry)
		return;
	(void)rebuild(rc, rc->n_slots, now); /* on ENOMEM the cache stays full: refusing is safe */
}

static enum token_refusal remember_nonce(struct replay_cache *rc, const char *nonce, size_t len, uint64_t token_expiry,
					 uint64_t now)
{
	uint8_t hash[NONCE_HASH_LEN];
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)nonce, len, rc->hash_key, sizeof(rc->hash_key));
	struct replay_slot *s = probe(rc->slots, rc->n_slots, slot_index(rc, hash), hash);
	uint64_t window_end = now > UINT64_MAX - rc->window_s ? UINT64_MAX : now + rc->window_s;
	uint64_t keep_until = window_end > token_expiry ? window_end : token_expiry;
	if (s->expiry != 0 && s->expiry > now)
		return TOKEN_REPLAYED;
	if (s->expiry != 0) { /* seen, but long enough ago: reuse its slot */
		s->expiry = keep_until;
		return TOKEN_OK;
	}
	if (rc->count >= rc->max)
		sweep(rc, now);
	if (rc->count >= rc->max)
		return TOKEN_REPLAY_CACHE_FULL;
	if ((rc->count + 1) * 2 > rc->n_slots && rebuild(rc, rc->n_slots * 2, 0) < 0)
		return TOKEN_REPLAY_CACHE_FULL;
	s = probe(rc->slots, rc->n_slots, slot_index(rc, hash), hash);
	memcpy(s->hash, hash, sizeof(hash));
	s->expiry = keep_until;
	rc->count++;
	if (keep_until < rc->earliest_expiry)
		rc->earliest_expiry = keep_until;
	return TOKEN_OK;
}

/* ---- field formats ----------------------------------------------------- */

struct token_fields {
	const char *r, *c, *n, *e, *s;
	size_t r_len, c_len, n_len, e_len, s_len;
	uint64_t expiry;
};

static bool is_lower_hex(const char *s, size_t len, size_t want)
{
	return len == want && text_is_lower_hex(s, len);
}

static bool nonce_ok(const char *n, size_t len)
{
	if (len == 0 || len > TOKEN_NONCE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x20 || n[i] > 0x7e || n[i] == '|')
			return false;
	return true;
}

/* Digits only, canonical (no leading zero but "0"), within 64 bits. */
static bool parse_expiry(const char *e, size_t len, uint64_t *out)
{
	if (len == 0 || len > TOKEN_EXPIRY_DIGITS_MAX || (len > 1 && e[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (e[i] < '0' || e[i] > '9')
			return false;
		unsigned d = (unsigned)(e[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool string_field(json_t *obj, const char *name, const char **val, size_t *len)
{
	json_t *v = json_object_get(obj, name);
	if (!json_is_string(v))
		return false;
	*val = json_string_value(v);
	*len = json_string_length(v);
	return true;
}

static enum token_refusal read_fields(json_t *obj, struct token_fields *f)
{
	if (json_object_size(obj) != 5)
		return TOKEN_BAD_FIELD;
	if (!string_field(obj, "r", &f->r, &f->r_len) || !string_field(obj, "c", &f->c, &f->c_len) ||
	    !string_field(obj, "n", &f->n, &f->n_len) || !string_field(obj, "e", &f->e, &f->e_len) ||
	    !string_field(obj, "s", &f->s, &f->s_len))
		return TOKEN_BAD_FIELD;
	if (!is_lower_hex(f->r, f->r_len, HEX_DIGEST_LEN) || !is_lower_hex(f->s, f->s_len, HEX_DIGEST_LEN) ||
	    f->c_len > WIRE_CONTEXT_MAX || !nonce_ok(f->n, f->n_len) || !parse_expiry(f->e, f->e_len, &f->expiry))
		return TOKEN_BAD_FIELD;
	return TOKEN_OK;
}

/* ---- one token ----------------------------------------------------------- */

static void token_mac(const uint8_t key[TOKEN_KEY_LEN], const char *r, const char *c, size_t c_len, const char *n,
		      size_t n_len, const char *e, size_t e_len, uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, TOKEN_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)r, HEX_DIGEST_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"|", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)c, c_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"|", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)n, n_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"|", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)e, e_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

struct check_args {
	const uint8_t *key;
	const uint8_t *request_repr;
	const char *ctx;
	size_t ctx_len;
	uint64_t now, max_ttl;
	struct replay_cache *rc;
};

static enum token_refusal check_claims(const struct check_args *a, const struct token_fields *f)
{
	char repr_hex[HEX_DIGEST_LEN + 1];
	hex_encode(a->request_repr, 32, repr_hex);
	if (memcmp(f->r, repr_hex, HEX_DIGEST_LEN) != 0)
		return TOKEN_REPR_MISMATCH;
	if (f->c_len != a->ctx_len || (a->ctx_len > 0 && memcmp(f->c, a->ctx, a->ctx_len) != 0))
		return TOKEN_CONTEXT_MISMATCH;
	if (f->expiry <= a->now)
		return TOKEN_EXPIRED;
	if (f->expiry - a->now > a->max_ttl)
		return TOKEN_EXPIRY_TOO_FAR;
	uint8_t mac[crypto_auth_hmacsha256_BYTES], claimed[crypto_auth_hmacsha256_BYTES];
	token_mac(a->key, f->r, f->c, f->c_len, f->n, f->n_len, f->e, f->e_len, mac);
	if (hex_decode(f->s, f->s_len, claimed, sizeof(claimed)) < 0 || sodium_memcmp(mac, claimed, sizeof(mac)) != 0)
		return TOKEN_BAD_SIGNATURE;
	if (a->rc == NULL)
		return TOKEN_REPLAY_CACHE_FULL; /* nowhere to remember the nonce: fail closed */
	return remember_nonce(a->rc, f->n, f->n_len, f->expiry, a->now);
}

static enum token_refusal check_token(const struct check_args *a, const char *tok, size_t len)
{
	uint8_t bin[TOKEN_HEADER_MAX];
	size_t bin_len = 0;
	int variant = tok[len - 1] == '=' ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	if (sodium_base642bin(bin, sizeof(bin), tok, len, NULL, &bin_len, NULL, variant) != 0)
		return TOKEN_MALFORMED_B64;
	json_error_t jerr;
	json_t *obj = json_loadb((const char *)bin, bin_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (obj == NULL)
		return TOKEN_MALFORMED_JSON;
	struct token_fields f;
	enum token_refusal r = json_is_object(obj) ? read_fields(obj, &f) : TOKEN_NOT_OBJECT;
	if (r == TOKEN_OK)
		r = check_claims(a, &f);
	json_decref(obj);
	return r;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

enum token_refusal token_check_header(const char *hdr, size_t len, const uint8_t key[TOKEN_KEY_LEN],
				      const uint8_t request_repr[32], const char *ctx, size_t ctx_len, uint64_t now_s,
				      uint64_t max_ttl_s, struct replay_cache *rc)
{
	if (hdr == NULL || len == 0)
		return TOKEN_MISSING;
	if (len > TOKEN_HEADER_MAX)
		return TOKEN_OVERSIZE;
	const struct check_args a = { key, request_repr, ctx, ctx_len, now_s, max_ttl_s, rc };
	enum token_refusal furthest = TOKEN_MISSING;
	size_t pos = 0;
	while (pos <= len) {
		const char *comma = memchr(hdr + pos, ',', len - pos);
		size_t end = comma ? (size_t)(comma - hdr) : len;
		size_t start = pos;
		pos = end + 1;
		while (start < end && is_blank(hdr[start]))
			start++;
		while (end > start && is_blank(hdr[end - 1]))
			end--;
		if (end == start)
			continue; /* an empty item between commas carries no token */
		enum token_refusal r = check_token(&a, hdr + start, end - start);
		if (r == TOKEN_OK)
			return TOKEN_OK;
		if (r > furthest)
			furthest = r;
	}
	return furthest;
}

/* ---- minting ----------------------------------------------------------- */

static json_t *token_object(const char *r, const char *c, const char *n, const char *e, const char *s)
{
	json_t *obj = json_object();
	if (obj == NULL)
		return NULL;
	const char *names[] = { "r", "c", "n", "e", "s" };
	const char *values[] = { r, c, n, e, s };
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_string(values[i]); /* NULL unless valid UTF-8 */
		if (json_object_set_new(obj, names[i], v) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

size_t token_mint(const uint8_t key[TOKEN_KEY_LEN], const uint8_t request_repr[32], const char *ctx,
		  const char *nonce, uint64_t expiry, char *out, size_t cap)
{
	size_t c_len = strlen(ctx), n_len = strlen(nonce);
	if (c_len > WIRE_CONTEXT_MAX || !nonce_ok(nonce, n_len))
		return 0;
	char r[HEX_DIGEST_LEN + 1], e[TOKEN_EXPIRY_DIGITS_MAX + 1], s[HEX_DIGEST_LEN + 1];
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	hex_encode(request_repr, 32, r);
	snprintf(e, sizeof(e), "%" PRIu64, expiry);
	token_mac(key, r, ctx, c_len, nonce, n_len, e, strlen(e), mac);
	hex_encode(mac, sizeof(mac), s);
	json_t *obj = token_object(r, ctx, nonce, e, s);
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(obj);
	if (text == NULL)
		return 0;
	size_t text_len = strlen(text), written = 0;
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	if (sodium_base64_ENCODED_LEN(text_len, variant) <= cap) {
		sodium_bin2base64(out, cap, (const unsigned char *)text, text_len, variant);
		written = strlen(out);
	}
	free(text);
	return written;
}
