/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's own policy file, read inside its sandbox, or checked in the
 * host's view by `mpbs-run -t` (see the header), through the project's INI
 * reader (lib/ini_file.h): one parser for both. */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/fsutil.h"
#include "../../lib/ini_file.h"
#include "../../lib/keys.h"
#include "../../lib/wire.h"
#include "policy_keys.h"

#define POLICY_FILE_MAX (64u * 1024)

struct policy_parse {
	struct provider_policy *p;
	struct ini_file ini;  /* the file, the line being read, the first error */
	const char *path;
	const struct policy_read *how;
	int line;             /* of the key being set */
	int key_line[POLICY_KEY_COUNT]; /* 0 while unset */
};

/* Keeps the first error: later ones are usually its consequences. */
static int __attribute__((format(printf, 4, 5)))
fail(struct policy_parse *pp, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ini_vfail(&pp->ini, line, NULL, key, fmt, ap);
	va_end(ap);
	return -1;
}

static bool context_listed(const struct provider_policy *p, const char *ctx, size_t len)
{
	for (size_t i = 0; i < p->n_accept; i++)
		if (strlen(p->accept_context[i]) == len && memcmp(p->accept_context[i], ctx, len) == 0)
			return true;
	return false;
}

static int add_context(struct policy_parse *pp, const char *word, size_t len)
{
	struct provider_policy *p = pp->p;
	const char *key = policy_keys[POLICY_KEY_ACCEPT_CONTEXT].name;
	if (p->n_accept == POLICY_CONTEXTS_MAX)
		return fail(pp, pp->line, key, "more than %d contexts", POLICY_CONTEXTS_MAX);
	if (len > WIRE_CONTEXT_MAX)
		return fail(pp, pp->line, key, "context longer than %d bytes", WIRE_CONTEXT_MAX);
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)word[i]))
			return fail(pp, pp->line, key, "control byte in context");
	if (context_listed(p, word, len))
		return fail(pp, pp->line, key, "'%.*s' listed twice", (int)len, word);
	char *copy = strndup(word, len);
	if (copy == NULL)
		return fail(pp, pp->line, key, "out of memory");
	p->accept_context[p->n_accept++] = copy;
	return 0;
}

/* The next space-separated word of *s: its start, with *len set and *s
 * moved past it; NULL at the end. */
static const char *next_word(const char **s, size_t *len)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (**s == '\0')
		return NULL;
	const char *word = *s;
	*len = strcspn(word, " \t");
	*s += *len;
	return word;
}

static int set_accept_context(struct policy_parse *pp, const char *value)
{
	const char *s = value, *word;
	size_t len;
	while ((word = next_word(&s, &len)))
		if (add_context(pp, word, len) < 0)
			return -1;
	if (pp->p->n_accept == 0)
		return fail(pp, pp->line, policy_keys[POLICY_KEY_ACCEPT_CONTEXT].name, "expected 1 to %d contexts separated by spaces",
			    POLICY_CONTEXTS_MAX);
	return 0;
}

static int set_bool(struct policy_parse *pp, enum policy_key k, const char *value, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
			*out = strcasecmp(value, yes[i]) == 0;
			return 0;
		}
	}
	return fail(pp, pp->line, policy_keys[k].name, "expected yes or no, got '%.64s'", value);
}

static int set_number(struct policy_parse *pp, const struct policy_key_row *nk, const char *value)
{
	const char *key = nk->name;
	uint64_t v = 0;
	size_t len = strlen(value);
	bool ok = len > 0 && len <= 10;
	for (size_t i = 0; ok && i < len; i++) {
		ok = value[i] >= '0' && value[i] <= '9';
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	if (!ok || v < nk->min || v > nk->max)
		return fail(pp, pp->line, key, "expected an integer from %" PRIu32 " to %" PRIu32 ", got '%.64s'",
			    nk->min, nk->max, value);
	memcpy((char *)pp->p + nk->offset, &(uint32_t){ (uint32_t)v }, sizeof(uint32_t));
	return 0;
}

/* The program must exist and be executable where the policy is read: inside
 * the provider's sandbox, which is where it will run. The host's view cannot
 * tell (its paths are the sandbox's). */
static int check_program(struct policy_parse *pp, const char *key, const char *prog)
{
	struct stat st;
	if (pp->how->host_view)
		return 0;
	if (stat(prog, &st) < 0)
		return fail(pp, pp->line, key, "%s: %s", prog, strerror(errno));
	if (!S_ISREG(st.st_mode) || access(prog, X_OK) < 0)
		return fail(pp, pp->line, key, "%s: not an executable regular file", prog);
	return 0;
}

static int set_command(struct policy_parse *pp, const char *key, const char *value, struct policy_command *cmd)
{
	const char *s = value, *word;
	size_t len;
	while ((word = next_word(&s, &len))) {
		if (cmd->argc == POLICY_ARGS_MAX + 1)
			return fail(pp, pp->line, key, "more than %d arguments", POLICY_ARGS_MAX);
		if ((cmd->argv[cmd->argc] = strndup(word, len)) == NULL)
			return fail(pp, pp->line, key, "out of memory");
		cmd->argc++;
	}
	if (cmd->argc == 0 || cmd->argv[0][0] != '/')
		return fail(pp, pp->line, key, "expected an absolute path to a program, got '%.64s'", value);
	return check_program(pp, key, cmd->argv[0]);
}

static int set_action(struct policy_parse *pp, const char *value)
{
	const char *key = policy_keys[POLICY_KEY_ACTION].name;
	if (strcmp(value, "none") == 0) {
		pp->p->action = POLICY_ACTION_NONE;
		return 0;
	}
	if (strncmp(value, "exec", 4) != 0 || (value[4] != ' ' && value[4] != '\t'))
		return fail(pp, pp->line, key, "expected 'none' or 'exec /path/to/program [args]', got '%.64s'", value);
	pp->p->action = POLICY_ACTION_EXEC;
	return set_command(pp, key, value + 5, &pp->p->action_exec);
}

/* "PATH/name" into a fresh string, "name" alone when dir is empty, one
 * slash between even when dir ends in one. */
static char *join_path(const char *dir, size_t dir_len, const char *name)
{
	if (dir_len == 0)
		return strdup(name);
	return fs_path_join_n(dir, dir[dir_len - 1] == '/' ? dir_len - 1 : dir_len, name);
}

static char *resolve_token_key(const struct policy_parse *pp, const char *name)
{
	if (pp->how->keys_dir != NULL)
		return join_path(pp->how->keys_dir, strlen(pp->how->keys_dir), name);
	const char *slash = strrchr(pp->path, '/');
	if (slash == NULL)
		return join_path("", 0, name);
	return join_path(pp->path, slash == pp->path ? 1 : (size_t)(slash - pp->path), name);
}

/* A plain file name: inside the sandbox only the provider's own key
 * directory is there to look in. */
static int set_token_key(struct policy_parse *pp, const char *value)
{
	const char *key = policy_keys[POLICY_KEY_TOKEN_KEY].name;
	struct provider_policy *p = pp->p;
	if (value[0] == '\0' || strchr(value, '/') != NULL || strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
		return fail(pp, pp->line, key, "expected a file name in the provider's key directory (no '/'), got '%.64s'",
			    value);
	p->token_key_path = resolve_token_key(pp, value);
	if (p->token_key_path == NULL)
		return fail(pp, pp->line, key, "out of memory");
	if (pp->how->host_view)
		return 0; /* a secret the host's check does not read */
	char err[384];
	if (keys_load_secret_hex(p->token_key_path, p->token_key, sizeof(p->token_key), err, sizeof(err)) < 0)
		return fail(pp, pp->line, key, "%s", err);
	p->has_token_key = true;
	return 0;
}

static int set_value(struct policy_parse *pp, enum policy_key k, const char *value)
{
	struct provider_policy *p = pp->p;
	if (policy_keys[k].number)
		return set_number(pp, &policy_keys[k], value);
	switch (k) {
	case POLICY_KEY_ACCEPT_CONTEXT:
		return set_accept_context(pp, value);
	case POLICY_KEY_RECEIVE_BODY:
		return set_bool(pp, k, value, &p->require_body);
	case POLICY_KEY_REQUIRE_TOKEN:
		return set_bool(pp, k, value, &p->require_token);
	case POLICY_KEY_TOKEN_KEY:
		return set_token_key(pp, value);
	case POLICY_KEY_EVALUATOR:
		return set_command(pp, policy_keys[k].name, value, &p->evaluator);
	case POLICY_KEY_ACTION:
		return set_action(pp, value);
	default:
		return fail(pp, pp->line, policy_keys[k].name, "internal error: no parser");
	}
}

static int on_key(struct ini_file *f, void *ctx, const char *name, const char *value)
{
	struct policy_parse *pp = ctx;
	pp->line = f->line;
	int k = 0;
	while (k < POLICY_KEY_COUNT && strcmp(policy_keys[k].name, name) != 0)
		k++;
	if (k == POLICY_KEY_COUNT)
		return fail(pp, pp->line, name, "unknown key");
	if (pp->key_line[k] != 0)
		return fail(pp, pp->line, name, "duplicate key (first set at line %d)", pp->key_line[k]);
	pp->key_line[k] = pp->line;
	return set_value(pp, (enum policy_key)k, value);
}

/* The only section allowed is [policy]; anything else is refused on its
 * header line, even when it holds no key (inih never reports those). */
static int check_header(struct ini_file *f, void *ctx, const char *line)
{
	struct policy_parse *pp = ctx;
	pp->line = f->line;
	const char *close = strchr(line, ']');
	if (close == NULL)
		return 0; /* inih reports the syntax error on this same line */
	const char *after = close + 1;
	while (isspace((unsigned char)*after))
		after++;
	const char *name = line + 1;
	size_t len = (size_t)(close - name);
	while (len > 0 && isspace((unsigned char)*name)) {
		name++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)name[len - 1]))
		len--;
	if (len != 6 || memcmp(name, "policy", 6) != 0)
		return fail(pp, pp->line, NULL, "[%.*s]: unknown section (only [policy] is allowed)",
			    (int)(len > 64 ? 64 : len), name);
	if (*after != '\0' && *after != ';' && *after != '#')
		return fail(pp, pp->line, NULL, "[policy]: unexpected text after ']'");
	return 0;
}

static const struct ini_file_ops policy_ops = {
	.header = check_header,
	.key = on_key,
	.syntax_hint = "expected '[policy]', 'key = value' or a comment",
};

/* What the policy asks of its provider's section in the topology, on the
 * line of the key that asks it. */
static int check_fits_topology(struct policy_parse *pp)
{
	const struct policy_read *how = pp->how;
	if (how->provider == NULL)
		return 0;
	if (pp->p->require_body && !how->receive_body)
		return fail(pp, pp->key_line[POLICY_KEY_RECEIVE_BODY], policy_keys[POLICY_KEY_RECEIVE_BODY].name,
			    "yes, but the topology does not forward the body to this provider (set receive_body = yes "
			    "in its [provider %s] section)", how->provider);
	if (provider_policy_needs_exec(pp->p) && !how->exec) {
		enum policy_key k = pp->p->evaluator.argc > 0 ? POLICY_KEY_EVALUATOR : POLICY_KEY_ACTION;
		return fail(pp, pp->key_line[k], policy_keys[k].name,
			    "a program, but the topology does not let this provider run programs (set exec = yes in "
			    "its [provider %s] section)", how->provider);
	}
	return 0;
}

static int parse_policy(struct policy_parse *pp)
{
	if (ini_file_parse(&pp->ini, POLICY_FILE_MAX, &policy_ops, pp) < 0)
		return -1;
	if (pp->key_line[POLICY_KEY_ACCEPT_CONTEXT] == 0)
		return fail(pp, 0, policy_keys[POLICY_KEY_ACCEPT_CONTEXT].name, "missing required key");
	/* the line, not has_token_key: the host's view reads no key */
	if (pp->p->require_token && pp->key_line[POLICY_KEY_TOKEN_KEY] == 0)
		return fail(pp, 0, policy_keys[POLICY_KEY_TOKEN_KEY].name, "required when require_token = yes");
	if (pp->key_line[POLICY_KEY_REPLAY_WINDOW] == 0)
		pp->p->replay_window = pp->p->max_token_ttl;
	return check_fits_topology(pp);
}

static void set_defaults(struct provider_policy *p)
{
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++)
		if (policy_keys[i].number)
			memcpy((char *)p + policy_keys[i].offset, &policy_keys[i].dflt, sizeof(uint32_t));
	p->action = POLICY_ACTION_NONE;
}

int provider_policy_read(struct provider_policy *p, const char *path, const struct policy_read *how, char *errbuf,
			 size_t errlen)
{
	memset(p, 0, sizeof(*p));
	set_defaults(p);
	struct policy_parse pp = { .p = p, .path = path, .how = how };
	ini_file_init(&pp.ini, path);
	if (how->shown_as != NULL)
		pp.ini.name = how->shown_as;
	if (parse_policy(&pp) == 0)
		return 0;
	if (errlen > 0)
		snprintf(errbuf, errlen, "%s", pp.ini.err);
	provider_policy_free(p);
	return -1;
}

int provider_policy_load_in(struct provider_policy *p, const char *path, const char *keys_dir, char *errbuf,
			    size_t errlen)
{
	const struct policy_read how = { .keys_dir = keys_dir };
	return provider_policy_read(p, path, &how, errbuf, errlen);
}

int provider_policy_load(struct provider_policy *p, const char *path, char *errbuf, size_t errlen)
{
	return provider_policy_load_in(p, path, NULL, errbuf, errlen);
}

bool provider_policy_accepts_context(const struct provider_policy *p, const char *ctx, size_t len)
{
	return ctx != NULL && context_listed(p, ctx, len);
}

bool provider_policy_needs_exec(const struct provider_policy *p)
{
	return p->evaluator.argc > 0 || p->action == POLICY_ACTION_EXEC;
}

static void free_command(struct policy_command *cmd)
{
	for (size_t i = 0; i < cmd->argc; i++)
		free(cmd->argv[i]);
}

void provider_policy_free(struct provider_policy *p)
{
	for (size_t i = 0; i < p->n_accept; i++)
		free(p->accept_context[i]);
	free(p->token_key_path);
	free_command(&p->evaluator);
	free_command(&p->action_exec);
	sodium_memzero(p, sizeof(*p));
}
