/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: signal_decode must never read outside the input, and a
 * frame it accepts must re-encode to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct signal_frame s;
	if (signal_decode(data, size, &s) != WIRE_OK)
		return 0;
	if (size != SIGNAL_FRAME_LEN || wire_peek_type(data, size) != WIRE_SIGNAL)
		abort();
	if (!wire_provider_name_valid(s.provider) || wire_stage_name(s.stage) == NULL)
		abort();

	uint8_t again[SIGNAL_FRAME_LEN];
	if (!signal_encode(&s, again) || memcmp(again, data, SIGNAL_FRAME_LEN) != 0)
		abort();
	return 0;
}
