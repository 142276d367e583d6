/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: checkpoint_decode must never read outside the input, and
 * a frame it accepts must re-encode to exactly the same bytes; the signature
 * check over a decoded frame must not crash whatever its contents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/chain.h"
#include "../../lib/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checkpoint_frame c;
	if (checkpoint_decode(data, size, &c) != WIRE_OK)
		return 0;
	if (size != CHECKPOINT_FRAME_LEN || !wire_provider_name_valid(c.provider))
		abort();

	uint8_t again[CHECKPOINT_FRAME_LEN];
	if (!checkpoint_encode(&c, again) || memcmp(again, data, CHECKPOINT_FRAME_LEN) != 0)
		abort();

	/* An arbitrary key: the fuzzer cannot forge Ed25519, so this exercises
	 * only the reject path, which must be clean for any frame. */
	static const uint8_t pk[32] = { 0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a,
					0xa7, 0x4d, 0x1b, 0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4,
					0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c };
	if (checkpoint_verify(&c, pk))
		abort();
	return 0;
}
