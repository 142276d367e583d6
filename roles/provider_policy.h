/* A provider's private policy file (INI, parsed with inih), read only inside
 * that provider's own process. Documented in docs/PROVIDER-POLICY.md.
 *
 *   accept_context = CTX_ALPHA CTX_BETA   ; required, space-separated, 1..64 entries
 *   receive_body   = yes|no               ; yes: refuse artifacts that lack the body
 *
 * Keys are top-level (no section) or under [policy]. Any other section or
 * key, a duplicate key, or a bad value is an error naming file, line, key. */
#ifndef MPBS_PROVIDER_POLICY_H
#define MPBS_PROVIDER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_CONTEXTS_MAX 64

struct provider_policy {
	char *accept_context[POLICY_CONTEXTS_MAX];
	size_t n_accept;
	bool require_body;
};

/* Returns 0, or -1 with errbuf "PATH:LINE: key: message" (or "PATH: ..."
 * when no line applies, e.g. unreadable or a required key missing). */
int provider_policy_load(struct provider_policy *p, const char *path, char *errbuf, size_t errlen);
bool provider_policy_accepts_context(const struct provider_policy *p, const char *ctx, size_t len);
void provider_policy_free(struct provider_policy *p);

#endif
