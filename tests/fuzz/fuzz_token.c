/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as an X-Provider-Token header, checked
 * against a fixed key, body and context at a fixed time, with a fresh small
 * replay cache per input. Seeds in tests/fuzz/corpus/token/ are valid tokens
 * for that fixed setting (made by python3's hmac module), so mutations reach
 * every check, signature and replay included.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/ftk tests/fuzz/fuzz_token.c \
 *         lib/token.c lib/derive.c lib/wire.c lib/keys.c lib/log.c \
 *         $(pkg-config --cflags --libs libsodium jansson)
 *   /tmp/ftk -max_len=4200 SCRATCH_DIR tests/fuzz/corpus/token
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/token.h"

#define FUZZ_NOW 1700000000u
#define FUZZ_TTL 300u
#define FUZZ_CTX "CTX_ALPHA"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[TOKEN_KEY_LEN], repr[32];
	for (int i = 0; i < TOKEN_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	derive_request_repr((const uint8_t *)"hello", 5, repr);
	if (sodium_init() < 0)
		abort();
	struct replay_cache rc;
	if (replay_cache_init(&rc, 16, FUZZ_TTL) < 0)
		abort();
	/* A copy exactly size bytes long, so ASan sees any read past the end. */
	char *hdr = malloc(size ? size : 1);
	if (hdr == NULL)
		abort();
	memcpy(hdr, data, size);
	enum token_refusal first = token_check_header(hdr, size, key, repr, FUZZ_CTX, strlen(FUZZ_CTX), FUZZ_NOW,
						      FUZZ_TTL, &rc);
	if ((unsigned)first >= TOKEN_REFUSAL_COUNT || token_refusal_name(first) == NULL)
		abort();
	if (first == TOKEN_OK && rc.count != 1)
		abort(); /* an accepted header records exactly one nonce */
	if (first != TOKEN_OK && rc.count != 0)
		abort(); /* a refused header consumes nothing */
	enum token_refusal again = token_check_header(hdr, size, key, repr, FUZZ_CTX, strlen(FUZZ_CTX), FUZZ_NOW,
						      FUZZ_TTL, &rc);
	if (first != TOKEN_OK && again != first)
		abort(); /* refusals are deterministic */
	free(hdr);
	replay_cache_free(&rc);
	return 0;
}
