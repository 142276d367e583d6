/* SPDX-License-Identifier: Apache-2.0 */
/* Every key of a provider's policy file, one row each: its name, how its
 * value is read, a number's range and default, and its doc. The parser
 * (policy.c) takes names, ranges and defaults from these rows;
 * docs/PROVIDER-POLICY.md's key table and mpbs-provider-policy(5) are
 * generated from them (docs/man/gen.c; a test keeps the Markdown equal). */
#ifndef MPBS_PROVIDER_POLICY_KEYS_H
#define MPBS_PROVIDER_POLICY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../lib/doc_text.h"

enum policy_key {
	POLICY_KEY_ACCEPT_CONTEXT,
	POLICY_KEY_RECEIVE_BODY,
	POLICY_KEY_REQUIRE_TOKEN,
	POLICY_KEY_TOKEN_KEY,
	POLICY_KEY_MAX_TOKEN_TTL,
	POLICY_KEY_REPLAY_WINDOW,
	POLICY_KEY_REPLAY_CACHE_MAX,
	POLICY_KEY_EVALUATOR,
	POLICY_KEY_EVALUATOR_TIMEOUT,
	POLICY_KEY_ACTION,
	POLICY_KEY_ACTION_TIMEOUT,
	POLICY_KEY_MAX_CONCURRENT,
	POLICY_KEY_LOG_CAP,
	POLICY_KEY_COUNT
};

struct policy_key_row {
	const char *name;
	bool number;           /* a decimal integer in [min, max], else parsed by policy.c's own code */
	size_t offset;         /* of a number's uint32_t in struct provider_policy */
	uint32_t min, max, dflt;
	const char *value;     /* what the value is, for the docs */
	const char *dflt_doc;  /* the default as the docs say it; NULL: a number's dflt.
				* "required..." for a required key */
	const char *doc;       /* one line, no '|'; a number's range is written before it */
};

/* Indexed by enum policy_key. */
extern const struct policy_key_row policy_keys[POLICY_KEY_COUNT];

/* Writes every key: docs/PROVIDER-POLICY.md's table (Markdown), or
 * mpbs-provider-policy(5)'s key list (scdoc). Returns 0, or -1 on a write
 * error. */
int policy_keys_doc(FILE *f, enum doc_format fmt);

#endif
