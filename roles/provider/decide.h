/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's decision, alone and inside its sandbox: the artifact must be
 * consistent (request_repr, binding), its context accepted, its token valid
 * when the policy requires one, and its evaluator must agree when the policy
 * names one. Every refusal is counted here and never leaves the provider. */
#ifndef MPBS_PROVIDER_DECIDE_H
#define MPBS_PROVIDER_DECIDE_H

#include <stdint.h>

#include "policy.h"
#include "../../lib/token.h"
#include "../../lib/wire.h"

enum refusal {
	REFUSE_MALFORMED,
	REFUSE_REPR,
	REFUSE_BINDING,
	REFUSE_NO_BODY,
	REFUSE_CONTEXT,
	REFUSE_TOKEN,
	REFUSE_EVALUATOR,
	REFUSE_BUSY,       /* max_concurrent handlers already running */
	REFUSE_COUNT
};

struct decider {
	const struct provider_policy *policy;
	const char *provider;
	struct replay_cache replay;
	bool has_replay;
	uint64_t refused[REFUSE_COUNT];
	uint64_t token_refused[TOKEN_REFUSAL_COUNT];
};

/* The environment of an evaluator or handler: the artifact's fields. */
struct exec_env {
	char text[1024];
	char *envp[12];
};

int decider_init(struct decider *d, const struct provider_policy *policy, const char *provider);
void decider_free(struct decider *d);

/* Returns -1 to initiate, or the refusal (already counted). */
int decide(struct decider *d, const struct artifact *a);

void decider_count(struct decider *d, enum refusal why);
/* One log line with every non-zero counter. */
void decider_report(const struct decider *d, uint64_t initiated);

void exec_env_build(struct exec_env *e, const char *provider, const struct artifact *a,
		    const uint8_t op[WIRE_DIGEST_LEN]);

#endif
