/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the version 2 segment checker (lib/ledger2_verify.h)
 * and the codec's decoders under it: any byte string, taken as a segment
 * file, must be judged without crashing, leaking or hanging, and the
 * verdict must agree with its explanation. The key callback knows providers
 * p0 and p1 with keys from tests/common/ledger2_gen.c's seeds (seed 7), so
 * segments written by that generator (the seed corpus,
 * tests/fuzz/corpus/ledger2) carry valid signatures that mutations start
 * from. Each input is judged without and with a topology (p0, p1, confirm
 * 2, checkpoint_every 64, the association's key, one head kept elsewhere),
 * then joined as a ledger of one segment.
 *
 *   make build-fuzz/fuzz_ledger2 && build-fuzz/fuzz_ledger2 -max_total_time=30 tests/fuzz/corpus/ledger2
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/ledger2_verify.h"

struct keys {
	uint8_t pk[3][32]; /* p0, p1, the association */
};

static bool key_of(void *ctx, const char *provider, uint8_t pk[32])
{
	const struct keys *k = ctx;
	if (strcmp(provider, "p0") != 0 && strcmp(provider, "p1") != 0)
		return false;
	memcpy(pk, k->pk[provider[1] - '0'], 32);
	return true;
}

/* The generator's keys (gen_ledger_keys, seed 7, two providers). */
static void make_keys(struct keys *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint64_t s = 7;
	for (int p = 0; p <= 2; p++) {
		memset(seed, 0, sizeof(seed));
		memcpy(seed, &s, sizeof(s));
		seed[31] = (uint8_t)p;
		seed[30] = p == 2 ? 0xA5 : 0;
		crypto_sign_seed_keypair(k->pk[p], sk, seed);
	}
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-ledger2", MFD_CLOEXEC);
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

static void judge(int fd, const struct l2v_opts *o, size_t size)
{
	static struct l2v_segment s;
	struct l2v_ledger l;
	if (lseek(fd, 0, SEEK_SET) != 0)
		__builtin_trap();
	bool ok = l2v_segment_check(fd, "fuzz", o, &s);
	if (ok == s.failed || (!ok && s.why[0] == '\0') || (ok && s.records > size) || s.heads > s.records)
		__builtin_trap();
	if (ok && !s.empty) {
		char why[512];
		if (l2v_ledger_init(&l, o) < 0)
			__builtin_trap();
		if (l2v_ledger_add(&l, NULL, &s))
			(void)l2v_ledger_end(&l, &s, why, sizeof(why));
		l2v_ledger_free(&l);
	}
	l2v_segment_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keys k;
	static bool ready;
	if (!ready) {
		if (sodium_init() < 0)
			__builtin_trap();
		make_keys(&k);
		ready = true;
	}
	int fd = memfd_with(data, size);
	const struct l2v_opts bare = { .pubkey = key_of, .ctx = &k };
	judge(fd, &bare, size);

	static const char *const topology[] = { "p0", "p1" };
	static const uint32_t every[] = { 64, 64 };
	struct ledger_head kept = { .seq = 20 };
	memset(kept.hash, 0x41, sizeof(kept.hash));
	const struct l2v_opts full = { .n_providers = 2, .providers = topology, .checkpoint_every = every,
				       .confirm_k = 2, .pubkey = key_of, .ctx = &k, .association_pk = k.pk[2],
				       .n_expect = 1, .expect = &kept };
	judge(fd, &full, size);
	close(fd);
	return 0;
}
