/* SPDX-License-Identifier: Apache-2.0 */
/* Provider tokens (docs/ARCHITECTURE.md §3, docs/PROVIDER-POLICY.md).
 *
 * A token is base64url (RFC 4648 §5, '=' padding optional) of one JSON object
 * with exactly these string fields:
 *   "r"  hex request_repr, 64 lowercase hex digits
 *   "c"  the verification context, 0..256 bytes, no NUL
 *   "n"  nonce, 1..128 printable ASCII bytes (0x20..0x7e) except '|'
 *   "e"  expiry, unix seconds in decimal: digits only, no leading zero
 *        (except "0"), at most 20 digits, fits in 64 bits
 *   "s"  64 lowercase hex digits of HMAC-SHA256(token_key, r|c|n|e)
 * '|' is refused in n so that the signed string splits one way only: r has
 * a fixed length and e holds digits only, so c is whatever lies between.
 *
 * The header X-Provider-Token holds one or more tokens separated by commas
 * (spaces and tabs around each allowed). Each token is checked in this
 * order, and the first failing step is its refusal:
 *   structure (base64url, JSON object, exactly the five string fields),
 *   field formats, r matches the artifact, c matches the artifact,
 *   e > now, e <= now + max_ttl, signature (constant time), nonce unseen.
 * The enum below follows that order. */
#ifndef MPBS_TOKEN_H
#define MPBS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_KEY_LEN 32
#define TOKEN_NONCE_MAX 128
#define TOKEN_EXPIRY_DIGITS_MAX 20
#define TOKEN_HEADER_MAX 4096 /* == WIRE_TOKEN_MAX */

/* In check order: for a header whose tokens all fail, the refusal that
 * got furthest (the largest value) is reported. */
enum token_refusal {
	TOKEN_OK = 0,
	TOKEN_MISSING,           /* no header, or only separators and spaces */
	TOKEN_OVERSIZE,          /* header longer than TOKEN_HEADER_MAX */
	TOKEN_MALFORMED_B64,     /* not canonical base64url */
	TOKEN_MALFORMED_JSON,    /* not JSON, or a duplicate key */
	TOKEN_NOT_OBJECT,        /* JSON, but not an object */
	TOKEN_BAD_FIELD,         /* missing, extra, not a string, or badly formed */
	TOKEN_REPR_MISMATCH,     /* r is not this artifact's request_repr */
	TOKEN_CONTEXT_MISMATCH,  /* c is not this artifact's context */
	TOKEN_EXPIRED,           /* e <= now */
	TOKEN_EXPIRY_TOO_FAR,    /* e > now + max_token_ttl */
	TOKEN_BAD_SIGNATURE,     /* s does not verify under the token key */
	TOKEN_REPLAYED,          /* n seen within the replay window */
	TOKEN_REPLAY_CACHE_FULL, /* no room to remember n: refused, not forgotten */
	TOKEN_REFUSAL_COUNT
};

/* A short stable name ("ok", "missing", "bad signature", ...) for logs and
 * counters; "unknown" for a value out of range. */
const char *token_refusal_name(enum token_refusal r);

/* Nonces seen, each kept until max(now + window, its token's expiry), so a
 * token can never be replayed while it is still valid whatever the window.
 * Bounded to `max` live entries; expired ones are swept when room is needed,
 * and a cache full of live entries refuses new tokens instead of forgetting
 * old ones. Nonces are stored as keyed BLAKE2b digests (a random key per
 * cache), so the table's layout cannot be steered by whoever picks nonces. */
struct replay_slot;
struct replay_cache {
	struct replay_slot *slots; /* open addressing, linear probing */
	size_t n_slots;            /* a power of two, grown on demand */
	size_t count;              /* live or not-yet-swept entries */
	size_t max;
	uint32_t window_s;
	uint64_t earliest_expiry;  /* of any entry; a sweep before it frees nothing */
	uint8_t hash_key[32];
};

/* max: 1..16777216 entries. Returns 0, or -1 (EINVAL / ENOMEM in errno). */
int replay_cache_init(struct replay_cache *rc, size_t max, uint32_t window_s);
void replay_cache_free(struct replay_cache *rc);

/* Checks every token of the header (hdr, len: not NUL-terminated; NULL or 0
 * means no header) against this artifact. Returns TOKEN_OK for the first
 * token that passes every check, and only then records its nonce in rc: a
 * refused token never consumes a nonce. Otherwise returns the refusal of the
 * token that got furthest in the check order. */
enum token_refusal token_check_header(const char *hdr, size_t len, const uint8_t key[TOKEN_KEY_LEN],
				      const uint8_t request_repr[32], const char *ctx, size_t ctx_len, uint64_t now_s,
				      uint64_t max_ttl_s, struct replay_cache *rc);

/* Writes one token (unpadded base64url) + NUL into out. ctx is a C string of
 * at most 256 bytes; nonce must satisfy the "n" rule above. Returns the
 * token's length, or 0 if an argument is invalid or cap is too small. */
size_t token_mint(const uint8_t key[TOKEN_KEY_LEN], const uint8_t request_repr[32], const char *ctx,
		  const char *nonce, uint64_t expiry, char *out, size_t cap);

#endif
