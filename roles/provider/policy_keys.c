/* SPDX-License-Identifier: Apache-2.0 */
#include "policy_keys.h"

#include <stddef.h>
#include <string.h>

#include "../../lib/wire.h"
#include "policy.h"

#define TEXT(x) #x
#define NUMBER_TEXT(x) TEXT(x)
#define NUMBER(field, min, max, dflt) true, offsetof(struct provider_policy, field), min, max, dflt
#define OTHER false, 0, 0, 0, 0

const struct policy_key_row policy_keys[POLICY_KEY_COUNT] = {
	[POLICY_KEY_ACCEPT_CONTEXT] = { "accept_context", OTHER, "contexts separated by spaces", "required",
		"1 to " NUMBER_TEXT(POLICY_CONTEXTS_MAX) " distinct entries, each at most " NUMBER_TEXT(WIRE_CONTEXT_MAX)
		" bytes, no control bytes; matched exactly (case-sensitive, whole bytes) against the request's "
		"`X-Verification-Context`" },
	[POLICY_KEY_RECEIVE_BODY] = { "receive_body", OTHER, "`yes` or `no`", "`no`",
		"`yes`, `true`, `1`, `no`, `false`, `0` (any case). `yes`: an artifact without the body is refused, so "
		"`request_repr` is always derived again here; the topology must then forward the body to this provider" },
	[POLICY_KEY_REQUIRE_TOKEN] = { "require_token", OTHER, "`yes` or `no`", "`no`",
		"as `receive_body`. `yes`: initiate only if some token in `X-Provider-Token` passes every token check" },
	[POLICY_KEY_TOKEN_KEY] = { "token_key", OTHER, "a file name", "required when `require_token = yes`",
		"a plain file name (no `/`, not `.` or `..`), looked up in the provider's own key directory (the "
		"topology's `keys =`, bound read-only into this provider only); 64 hex digits and a newline (32 bytes), as "
		"`mpbs-run keygen --token FILE` writes; no group or other permission bit (0600 or 0400), or it is refused "
		"naming the file and its mode (`mpbs-run token --key` refuses it too). Read when the policy is loaded: a missing, open or malformed key is an "
		"error on this line" },
	[POLICY_KEY_MAX_TOKEN_TTL] = { "max_token_ttl", NUMBER(max_token_ttl, 1, 86400, 300), "seconds", NULL,
		"A token whose expiry is more than this far in the future is refused" },
	/* its default, max_token_ttl, is filled in once the whole file is read */
	[POLICY_KEY_REPLAY_WINDOW] = { "replay_window", NUMBER(replay_window, 1, 86400, 0), "seconds",
		"`max_token_ttl`", "How long the nonce of an accepted token stays remembered" },
	[POLICY_KEY_REPLAY_CACHE_MAX] = { "replay_cache_max", NUMBER(replay_cache_max, 16, 16777216, 65536),
		"entries", NULL, "Most nonces remembered at once" },
	[POLICY_KEY_EVALUATOR] = { "evaluator", OTHER, "`/abs/program [args...]`", "none",
		"split on spaces and tabs (no quoting), at most " NUMBER_TEXT(POLICY_ARGS_MAX) " arguments after the "
		"program; the program must be an absolute path to an executable regular file **as seen inside the "
		"sandbox** (checked when the policy is loaded)" },
	[POLICY_KEY_EVALUATOR_TIMEOUT] = { "evaluator_timeout", NUMBER(evaluator_timeout_ms, 1, 60000, 1000),
		"milliseconds", NULL, "" },
	[POLICY_KEY_ACTION] = { "action", OTHER, "`none` or `exec /abs/program [args...]`", "`none`",
		"`exec` is followed by a program as for `evaluator`" },
	[POLICY_KEY_ACTION_TIMEOUT] = { "action_timeout", NUMBER(action_timeout_ms, 1, 3600000, 10000),
		"milliseconds", NULL, "" },
	[POLICY_KEY_MAX_CONCURRENT] = { "max_concurrent", NUMBER(max_concurrent, 1, 256, 4), "handlers", NULL,
		"Handler runs at once" },
	[POLICY_KEY_LOG_CAP] = { "log_cap", NUMBER(log_cap, 0, 1048576, 4096), "bytes", NULL,
		"How much of one handler run's stdout and stderr is kept in the provider's log" },
};

/* The default column, and the doc with a number's range in front. */
static void key_texts(const struct policy_key_row *k, char *dflt, size_t dlen, char *doc, size_t doclen)
{
	if (k->dflt_doc)
		snprintf(dflt, dlen, "%s", k->dflt_doc);
	else
		snprintf(dflt, dlen, "`%u`", k->dflt);
	if (k->number)
		snprintf(doc, doclen, "integer %u to %u%s%s", k->min, k->max, *k->doc ? ". " : "", k->doc);
	else
		snprintf(doc, doclen, "%s", k->doc);
}

int policy_keys_doc(FILE *f, enum doc_format fmt)
{
	if (fmt == DOC_MARKDOWN)
		fprintf(f, "| key | value | default | validation |\n|---|---|---|---|\n");
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++) {
		const struct policy_key_row *k = &policy_keys[i];
		char dflt[128], doc[1024];
		key_texts(k, dflt, sizeof(dflt), doc, sizeof(doc));
		if (fmt == DOC_MARKDOWN) {
			fprintf(f, "| `%s` | %s | %s | %s |\n", k->name, k->value, dflt, doc);
			continue;
		}
		char shown[160];
		bool required = strncmp(dflt, "required", 8) == 0;
		snprintf(shown, sizeof(shown), "%s%s", required ? "" : "default: ", dflt);
		doc_key_entry(f, k->name, k->value, shown, doc);
	}
	return doc_flush(f);
}
