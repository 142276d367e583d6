/* SPDX-License-Identifier: Apache-2.0 */
/* Every derivation of the wire contract (docs/ARCHITECTURE.md §3), all
 * SHA-256 through Nettle (sha256.h). Text forms inside hashed strings are
 * lowercase hex. */
#ifndef MPBS_DERIVE_H
#define MPBS_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* request_repr = SHA256(body) */
void derive_request_repr(const uint8_t *body, size_t len, uint8_t out[WIRE_DIGEST_LEN]);
/* binding = SHA256("NUVL_BIND_V1|" + hex(request_repr) + "|" + context) */
void derive_binding(const uint8_t request_repr[WIRE_DIGEST_LEN], const char *context, size_t context_len,
		    uint8_t out[WIRE_DIGEST_LEN]);
/* operation_id = SHA256("MPBS_OP_V1|" + hex(request_repr) + "|" + hex(correlation)) */
void derive_operation_id(const uint8_t request_repr[WIRE_DIGEST_LEN],
			 const uint8_t correlation[WIRE_CORRELATION_LEN], uint8_t out[WIRE_DIGEST_LEN]);
/* chain origin of an epoch = SHA256("MPBS_CHAIN_V1|" + epoch), the 16 raw
 * bytes (docs/ARCHITECTURE.md §3) */
void derive_chain_origin(const uint8_t epoch[WIRE_EPOCH_LEN], uint8_t out[WIRE_DIGEST_LEN]);
/* chain = SHA256(prev || canonical signal bytes) */
void derive_chain_next(const uint8_t prev[WIRE_DIGEST_LEN], const uint8_t canon[SIGNAL_CANON_LEN],
		       uint8_t out[WIRE_DIGEST_LEN]);

/* One provider's contribution to a linkage. */
struct linkage_part {
	const char *provider;
	uint8_t start[WIRE_DIGEST_LEN];
	uint8_t complete[WIRE_DIGEST_LEN];
};

/* linkage = SHA256(op || for each part sorted bytewise by provider name:
 *   u8 name_len || name || u8 STAGE_START || start || u8 len || name ||
 *   u8 STAGE_COMPLETE || complete). Sorts parts in place. */
void derive_linkage(const uint8_t op[WIRE_DIGEST_LEN], struct linkage_part *parts, size_t n,
		    uint8_t out[WIRE_DIGEST_LEN]);

/* COMPLETE's boundary value: SHA256("MPBS_COMPLETE_V1|" || fresh[32] || status u32 BE),
 * so an action's result is folded in without being shown. */
void derive_complete_value(const uint8_t fresh[WIRE_DIGEST_LEN], uint32_t status, uint8_t out[WIRE_DIGEST_LEN]);

/* Lowercase hex of n public bytes into out (2n+1 bytes, NUL-terminated);
 * not constant-time: secrets go through sodium_bin2hex. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits (either case) in `in` of length in_len → n bytes.
 * Returns 0, or -1 on any other length or a non-hex digit. */
int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t n);

#endif
