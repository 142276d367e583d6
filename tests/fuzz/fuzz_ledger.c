/* libFuzzer target for the offline ledger verifier: any byte string, taken
 * as a ledger file, must be judged without crashing, leaking or hanging.
 * The key callback knows one provider, "A", whose Ed25519 key comes from a
 * fixed seed, so the seed corpus (tests/fuzz/corpus/ledger) can hold ledgers
 * with valid signatures that mutations start from.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/fl \
 *     tests/fuzz/fuzz_ledger.c roles/ledger.c roles/ledger_verify.c roles/wire.c roles/derive.c \
 *     roles/chain.c roles/log.c $(pkg-config --cflags --libs libsodium jansson)
 *   /tmp/fl -max_total_time=30 tests/fuzz/corpus/ledger
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "../../roles/ledger.h"

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
	close(fd);
	/* The verdict and its explanation must agree. */
	if (ok != (res.bad_line == 0) || (!ok && res.why[0] == '\0') || (ok && res.records > size))
		__builtin_trap();
	return 0;
}
