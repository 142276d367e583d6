/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 for every hash of the wire contract (request_repr, binding,
 * operation id, chains, linkage, ledger lines). It is Nettle's: Debian's
 * build picks the CPU's SHA extensions at run time, 0.21 µs for a 300-byte
 * ledger line here against 0.97 µs for libsodium's portable code. It needs no initialisation, file or system call, so it behaves the
 * same under seccomp. Keys, MACs, signatures and randomness stay libsodium's;
 * the tests compute their expected digests with libsodium, a second
 * implementation. */
#ifndef MPBS_SHA256_H
#define MPBS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

typedef struct sha256_ctx sha256_state;

static inline void sha256_start(sha256_state *st)
{
	sha256_init(st);
}

static inline void sha256_add(sha256_state *st, const void *p, size_t n)
{
	sha256_update(st, n, p);
}

static inline void sha256_end(sha256_state *st, uint8_t out[SHA256_DIGEST_SIZE])
{
	sha256_digest(st, SHA256_DIGEST_SIZE, out);
}

static inline void sha256_of(uint8_t out[SHA256_DIGEST_SIZE], const void *p, size_t n)
{
	sha256_state st;
	sha256_start(&st);
	sha256_add(&st, p, n);
	sha256_end(&st, out);
}

#endif
