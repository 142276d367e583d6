/* SPDX-License-Identifier: Apache-2.0 */
#include "decide.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "exec.h"

static const char *const refusal_names[REFUSE_COUNT] = {
	[REFUSE_MALFORMED] = "malformed artifact", [REFUSE_REPR] = "request_repr mismatch",
	[REFUSE_BINDING] = "binding mismatch",     [REFUSE_NO_BODY] = "body required but absent",
	[REFUSE_CONTEXT] = "context not accepted", [REFUSE_TOKEN] = "token",
	[REFUSE_EVALUATOR] = "evaluator said no",  [REFUSE_BUSY] = "max_concurrent handlers running",
};

int decider_init(struct decider *d, const struct provider_policy *policy, const char *provider)
{
	memset(d, 0, sizeof(*d));
	d->policy = policy;
	d->provider = provider;
	if (policy->require_token) {
		if (replay_cache_init(&d->replay, policy->replay_cache_max, policy->replay_window) < 0)
			return -1;
		d->has_replay = true;
	}
	return 0;
}

void decider_free(struct decider *d)
{
	if (d->has_replay)
		replay_cache_free(&d->replay);
	d->has_replay = false;
}

void decider_count(struct decider *d, enum refusal why)
{
	d->refused[why]++;
}

void exec_env_build(struct exec_env *e, const char *provider, const struct artifact *a,
		    const uint8_t op[WIRE_DIGEST_LEN])
{
	char repr[65], bind[65], corr[33], opx[65];
	size_t off = 0, n = 0;
	hex_encode(a->request_repr, WIRE_DIGEST_LEN, repr);
	hex_encode(a->binding, WIRE_DIGEST_LEN, bind);
	hex_encode(a->correlation, WIRE_CORRELATION_LEN, corr);
	hex_encode(op, WIRE_DIGEST_LEN, opx);
#define ENV(...)                                                                          \
	do {                                                                              \
		int w = snprintf(e->text + off, sizeof(e->text) - off, __VA_ARGS__);      \
		if (w >= 0 && (size_t)w < sizeof(e->text) - off) {                        \
			e->envp[n++] = e->text + off;                                     \
			off += (size_t)w + 1;                                             \
		}                                                                         \
	} while (0)
	ENV("PATH=/usr/bin:/bin");
	ENV("MPBS_PROVIDER=%s", provider);
	ENV("MPBS_CONTEXT=%.*s", (int)a->context_len, a->context);
	ENV("MPBS_OPERATION_ID=%s", opx);
	ENV("MPBS_REQUEST_REPR=%s", repr);
	ENV("MPBS_BINDING=%s", bind);
	ENV("MPBS_CORRELATION=%s", corr);
	ENV("MPBS_BODY_LENGTH=%zu", a->has_body ? a->body_len : (size_t)0);
#undef ENV
	e->envp[n] = NULL;
}

static int check_token(struct decider *d, const struct artifact *a)
{
	const struct provider_policy *pol = d->policy;
	enum token_refusal r = token_check_header(a->token, a->token_len, pol->token_key, a->request_repr,
						  a->context, a->context_len, (uint64_t)time(NULL),
						  pol->max_token_ttl, &d->replay);
	if (r == TOKEN_OK)
		return -1;
	d->token_refused[r]++;
	return REFUSE_TOKEN;
}

/* The evaluator sees the artifact's fields in its environment and the body
 * on stdin; exit 0 initiates, anything else (a crash, the timeout) does not. */
static int run_evaluator(struct decider *d, const struct artifact *a)
{
	const struct provider_policy *pol = d->policy;
	struct exec_env env;
	struct exec_run run;
	uint8_t op[WIRE_DIGEST_LEN];

	derive_operation_id(a->request_repr, a->correlation, op);
	exec_env_build(&env, d->provider, a, op);
	if (exec_start(&run, pol->evaluator.argv, env.envp, a->has_body ? a->body : NULL,
		       a->has_body ? a->body_len : 0, pol->evaluator_timeout_ms, pol->log_cap) < 0) {
		log_errno("evaluator %s", pol->evaluator.argv[0]);
		return REFUSE_EVALUATOR;
	}
	int status = exec_wait(&run);
	while (run.log_len && run.log[run.log_len - 1] == '\n')
		run.log_len--;
	if (run.log_len) /* the program's text, once per operation: only at -v */
		log_verbose("evaluator output (%zu bytes%s): %.*s", run.log_len, run.dropped ? ", capped" : "",
			 (int)run.log_len, run.log);
	bool timed_out = run.timed_out;
	exec_release(&run);
	if (status == 0)
		return -1;
	if (timed_out)
		log_warn("evaluator timed out after %u ms", pol->evaluator_timeout_ms);
	else if (status >= EXEC_STATUS_SIGNALED)
		log_warn("evaluator killed by signal %d", status - EXEC_STATUS_SIGNALED);
	else if (status >= 126)
		log_warn("evaluator %s could not run (status %d)", pol->evaluator.argv[0], status);
	return REFUSE_EVALUATOR;
}

/* The digests compared here are public (the intermediary computed them
 * from what the requester sent): a plain memcmp, no constant-time compare. */
static int check_artifact(const struct decider *d, const struct artifact *a)
{
	uint8_t digest[WIRE_DIGEST_LEN];
	if (a->has_body) {
		derive_request_repr(a->body, a->body_len, digest);
		if (memcmp(digest, a->request_repr, sizeof(digest)) != 0)
			return REFUSE_REPR;
	} else if (d->policy->require_body) {
		return REFUSE_NO_BODY;
	}
	derive_binding(a->request_repr, a->context, a->context_len, digest);
	if (memcmp(digest, a->binding, sizeof(digest)) != 0)
		return REFUSE_BINDING;
	if (!provider_policy_accepts_context(d->policy, a->context, a->context_len))
		return REFUSE_CONTEXT;
	return -1;
}

int decide(struct decider *d, const struct artifact *a)
{
	int why = check_artifact(d, a);
	if (why < 0 && d->policy->require_token)
		why = check_token(d, a);
	if (why < 0 && d->policy->evaluator.argc > 0)
		why = run_evaluator(d, a);
	if (why >= 0)
		d->refused[why]++;
	return why;
}

void decider_report(const struct decider *d, uint64_t initiated)
{
	char line[1024];
	int off = snprintf(line, sizeof(line), "stopped: %" PRIu64 " initiated", initiated);
	for (int i = 0; i < REFUSE_COUNT && off > 0 && off < (int)sizeof(line); i++)
		if (d->refused[i])
			off += snprintf(line + off, sizeof(line) - (size_t)off, ", %" PRIu64 " refused (%s)",
					d->refused[i], refusal_names[i]);
	for (int i = 1; i < TOKEN_REFUSAL_COUNT && off > 0 && off < (int)sizeof(line); i++)
		if (d->token_refused[i])
			off += snprintf(line + off, sizeof(line) - (size_t)off, ", token %s: %" PRIu64,
					token_refusal_name((enum token_refusal)i), d->token_refused[i]);
	log_info("%s", line);
}
