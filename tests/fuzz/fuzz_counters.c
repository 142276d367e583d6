/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: role_counters_parse reads a counters record a role
 * wrote on its status pipe (the intermediary's too), so the supervisor's
 * parse must never read outside the input, must take only the exact length
 * of the kind's list, and a record it accepts must encode back to the same
 * bytes. The first input byte picks the kind's list length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../roles/role_counters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = data[0] % (ROLE_COUNTERS_MAX + 2); /* also one more than any list */
	const uint8_t *rec = data + 1;
	size_t len = size - 1;
	/* a copy of exactly len bytes, so ASan sees any read past the record */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, rec, len);
	uint64_t values[ROLE_COUNTERS_MAX + 1];
	ssize_t used = role_counters_parse(copy, len, n, values);
	if (used > 0) {
		if (n > ROLE_COUNTERS_MAX || (size_t)used != 3 + 8 * n || (size_t)used > len)
			abort();
		uint8_t again[ROLE_COUNTERS_RECORD_MAX];
		if (role_counters_encode(again, values, n) != (size_t)used || memcmp(again, copy, (size_t)used) != 0)
			abort();
	} else if (used == 0 && len >= 3 + 8 * (size_t)n && n <= ROLE_COUNTERS_MAX) {
		abort(); /* a whole record of the right length was there: it must not wait for more */
	}
	free(copy);
	return 0;
}
