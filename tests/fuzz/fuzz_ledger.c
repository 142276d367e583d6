/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the offline ledger verifier: any byte string, taken
 * as a ledger file, must be judged without crashing, leaking or hanging.
 * The key callback knows one provider, "A", whose Ed25519 key comes from a
 * fixed seed, so the seed corpus (tests/fuzz/corpus/ledger) can hold ledgers
 * with valid signatures that mutations start from. Each input is judged
 * twice: bare, and with the checks of ledger_verify_with (a topology of A
 * alone, confirm = 1, the same key as the association's, so a head record
 * in the corpus can carry a valid signature, and one head kept elsewhere).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/fl \
 *     tests/fuzz/fuzz_ledger.c lib/ledger_read.c lib/ledger_verify.c lib/ledger_head.c lib/wire.c lib/derive.c \
 *     lib/chain.c lib/log.c $(pkg-config --cflags --libs libsodium jansson nettle)
 *   /tmp/fl -max_total_time=30 tests/fuzz/corpus/ledger
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/ledger.h"

/* The seed of provider A's key in the corpus: 32 bytes of 0x41. */
#define FUZZ_KEY_SEED_BYTE 0x41

static bool only_provider_a(void *ctx, const char *provider, uint8_t pk[32])
{
	if (strcmp(provider, "A") != 0)
		return false;
	memcpy(pk, ctx, 32);
	return true;
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-ledger", MFD_CLOEXEC);
	if (fd < 0)
		__builtin_trap();
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n <= 0)
			__builtin_trap();
		data += n;
		size -= (size_t)n;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	if (sodium_init() < 0)
		__builtin_trap();
	memset(seed, FUZZ_KEY_SEED_BYTE, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);

	int fd = memfd_with(data, size);
	struct ledger_verify_result res;
	bool ok = ledger_verify(fd, only_provider_a, pk, &res);
	/* The verdict and its explanation must agree. */
	if (ok != (res.bad_line == 0) || (!ok && res.why[0] == '\0') || (ok && res.records > size))
		__builtin_trap();

	static const char *const topology[] = { "A" };
	struct ledger_head kept = { .seq = 2 };
	memset(kept.hash, 0x41, sizeof(kept.hash));
	const struct ledger_verify_opts opts = { .pubkey = only_provider_a, .ctx = pk, .n_providers = 1,
						 .providers = topology, .confirm_k = 1, .association_pk = pk,
						 .n_expect = 1, .expect = &kept };
	ok = ledger_verify_with(fd, &opts, &res);
	close(fd);
	if (ok != (res.bad_line == 0) || (!ok && res.why[0] == '\0') || (ok && res.records > size) ||
	    res.heads > res.records || res.last_head_record > res.records ||
	    (res.heads > 0) != (res.last_head.seq > 0))
		__builtin_trap();
	return 0;
}
