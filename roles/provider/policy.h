/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's private policy file (INI, parsed with inih), loaded only inside
 * that provider's own process. `mpbs-run -t` parses it too, in the host's
 * view (struct policy_read), and frees it at once: the supervisor keeps none
 * of a provider's policy. Documented in docs/PROVIDER-POLICY.md and
 * mpbs-provider-policy(5); its keys, their ranges and defaults are the rows
 * of policy_keys.c.
 *
 * Keys are top-level (no section) or under [policy]. Any other section or
 * key, a duplicate key, or a bad value is an error naming file, line, key. */
#ifndef MPBS_PROVIDER_POLICY_H
#define MPBS_PROVIDER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_CONTEXTS_MAX 64
#define POLICY_ARGS_MAX 16 /* arguments after the program */
#define POLICY_TOKEN_KEY_LEN 32

/* A program and its arguments, split on spaces; argv is NULL-terminated
 * and argc == 0 means "none". */
struct policy_command {
	char *argv[POLICY_ARGS_MAX + 2];
	size_t argc;
};

enum policy_action { POLICY_ACTION_NONE, POLICY_ACTION_EXEC };

struct provider_policy {
	char *accept_context[POLICY_CONTEXTS_MAX];
	size_t n_accept;
	bool require_body;

	bool require_token;
	bool has_token_key;                       /* token_key was given and loaded */
	char *token_key_path;                     /* as resolved and opened */
	uint8_t token_key[POLICY_TOKEN_KEY_LEN];  /* wiped by provider_policy_free */
	uint32_t max_token_ttl;                   /* seconds */
	uint32_t replay_window;                   /* seconds */
	uint32_t replay_cache_max;                /* entries */

	struct policy_command evaluator;
	uint32_t evaluator_timeout_ms;

	enum policy_action action;
	struct policy_command action_exec;        /* argc > 0 iff action == POLICY_ACTION_EXEC */
	uint32_t action_timeout_ms;
	uint32_t max_concurrent;
	uint32_t log_cap;                         /* bytes of handler output kept per run */
};

/* How a policy file is read, and what it is checked against. */
struct policy_read {
	/* Where token_key (a plain file name) is looked up: the provider's own
	 * key directory as the reader sees it; NULL: the policy file's own. */
	const char *keys_dir;
	/* The file as its messages name it, when it is read through another
	 * path (in the sandbox, /policy/NAME is the operator's file); NULL: path. */
	const char *shown_as;
	/* The host's view (`mpbs-run -t`): the same keys, syntax and values,
	 * but what only the sandbox has is not looked at. token_key is checked
	 * and resolved in keys_dir (token_key_path) but never opened: it is a
	 * secret the check does not need, and demo keys are made only at the
	 * run's start. A program is checked to be an absolute path but not
	 * looked up: its path is the sandbox's (/exec is the topology's
	 * exec_dir, bound there). has_token_key stays false. */
	bool host_view;
	/* The topology's [provider NAME] section, when provider is set: what the
	 * policy asks of it is checked on the key's line (receive_body = yes
	 * needs the body forwarded, an evaluator or action = exec needs
	 * exec = yes). */
	const char *provider;
	bool receive_body, exec;
};

/* Returns 0, or -1 with errbuf "PATH:LINE: key: message" (or "PATH: ..."
 * when no line applies, e.g. unreadable or a required key missing) and
 * nothing kept. */
int provider_policy_read(struct provider_policy *p, const char *path, const struct policy_read *how, char *errbuf,
			 size_t errlen);
/* provider_policy_read in the sandbox's view, token_key looked up in
 * keys_dir (NULL: the policy file's own directory), nothing checked
 * against a topology. */
int provider_policy_load_in(struct provider_policy *p, const char *path, const char *keys_dir, char *errbuf,
			    size_t errlen);
/* The same with keys_dir NULL. */
int provider_policy_load(struct provider_policy *p, const char *path, char *errbuf, size_t errlen);
/* True when the policy runs a program (an evaluator or action = exec), so
 * the provider's seccomp filter must allow execve. */
bool provider_policy_needs_exec(const struct provider_policy *p);
bool provider_policy_accepts_context(const struct provider_policy *p, const char *ctx, size_t len);
void provider_policy_free(struct provider_policy *p);

#endif
