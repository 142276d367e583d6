/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: artifact_decode must never read outside the input, and a
 * frame it accepts must re-encode to exactly the same bytes (the decoder is
 * strict enough that no two frames decode alike). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct artifact a;
	if (artifact_decode(data, size, &a) != WIRE_OK)
		return 0;
	if (a.context_len > WIRE_CONTEXT_MAX || a.token_len > WIRE_TOKEN_MAX || a.body_len > WIRE_BODY_MAX)
		abort();
	if (!a.has_body && (a.body_len != 0 || a.body != NULL))
		abort();

	uint8_t *again = malloc(size);
	if (again == NULL)
		abort();
	size_t n = artifact_encode(&a, a.has_body, again, size);
	if (n != size || memcmp(again, data, size) != 0)
		abort();

	/* The header alone must also match what the intermediary would send. */
	uint8_t hdr[ARTIFACT_HDR_LEN];
	artifact_header_encode(&a, a.has_body, hdr);
	if (memcmp(hdr, data, ARTIFACT_HDR_LEN) != 0)
		abort();
	free(again);
	return 0;
}
