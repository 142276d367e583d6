/* topology.conf: parse (inih), apply --set overrides, validate.
 *
 * Line numbers: the packaged inih (Debian 12, r55) is built without
 * INI_HANDLER_LINENO, so the handler is never told its line. We therefore feed
 * inih through our own reader, which hands it exactly one line of the file per
 * call and counts them: when the handler runs, the reader's count is the line
 * being handled, and inih's own error line (which counts reader calls) is the
 * same number.
 *
 * The reader also sees section headers before inih does. inih calls the
 * handler only for keys, so a [provider X] with no keys would otherwise be
 * invisible; the reader is where sections begin. */
#include "topology.h"
#include "topology_dirs.h"
#include "../lib/keys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOPO_FILE_MAX (1u << 20)
#define SECTION_KEYS_MAX 32
#define HTTP_PATH_MAX 255
#define SIZE_MIN_BYTES (1ull << 20)
#define SIZE_MAX_BYTES (1ull << 50)

enum value_kind { V_UINT, V_SIZE, V_BOOL, V_PATH, V_LISTEN, V_HTTP_PATH, V_CONFIRM, V_CPU_MAX, V_RESTART,
		  V_APPEND_ONLY };

struct key_def {
	const char *name;
	enum value_kind kind;
	size_t offset; /* of the field in the section's target struct */
	size_t width;  /* of an integer field */
	uint64_t min, max;
};

/* Where a value came from, so that a later check can point at it. */
struct origin {
	int line;     /* > 0: a line of the file */
	int override; /* >= 0: index of a --set; -1 otherwise */
};

static const struct origin ORIGIN_NONE = { 0, -1 };
/* For messages that name the file themselves ("open FILE: ..."). */
static const struct origin ORIGIN_BARE = { 0, -2 };

struct section_state {
	char label[sizeof("provider ") + WIRE_PROVIDER_ID_MAX];
	int line;             /* of its header; 0 while the file has none */
	uint32_t set_in_file; /* bit i: key i was set by a line (duplicates) */
	struct origin at[SECTION_KEYS_MAX];
	void *target;
	const struct key_def *keys;
	size_t n_keys;
};

enum { SEC_RUNNER, SEC_INTERMEDIARY, SEC_ASSOCIATION, SEC_FIXED_COUNT };

struct parse {
	struct topology *t;
	char *const *overrides;
	const char *buf;
	size_t len, pos;
	int line;
	struct section_state fixed[SEC_FIXED_COUNT];
	struct section_state prov[TOPO_PROVIDERS_MAX];
	struct section_state *cur;
	bool failed;
	int err_line;
	char err[1024];
};

#define U(name, type, field, min, max) \
	{ name, V_UINT, offsetof(type, field), sizeof(((type *)0)->field), min, max }

#define LIMIT_KEYS(type, member)                                                                   \
	U("nofile", type, member.nofile, 1, INT32_MAX), U("nproc", type, member.nproc, 1, INT32_MAX), \
	{ "as", V_SIZE, offsetof(type, member.as_bytes), 8, SIZE_MIN_BYTES, SIZE_MAX_BYTES },        \
	{ "fsize", V_SIZE, offsetof(type, member.fsize), 8, SIZE_MIN_BYTES, SIZE_MAX_BYTES },        \
	{ "memory_max", V_SIZE, offsetof(type, member.memory_max), 8, SIZE_MIN_BYTES, SIZE_MAX_BYTES }, \
	U("pids_max", type, member.pids_max, 1, INT32_MAX),                                          \
	{ "cpu_max", V_CPU_MAX, offsetof(type, member.cpu_max), 0, 0, 0 },                           \
	{ "restart", V_RESTART, offsetof(type, member.restart), 0, 0, 0 }

static const struct key_def runner_keys[] = {
	U("uid_base", struct topology, uid_base, 1, UINT32_MAX - 1000),
	U("restart_budget", struct topology, restart_budget, 0, 10000),
	U("restart_backoff_ms", struct topology, restart_backoff_ms, 1, 600000),
	U("restart_backoff_max_ms", struct topology, restart_backoff_max_ms, 1, 3600000),
	{ "require_cgroups", V_BOOL, offsetof(struct topology, require_cgroups), 0, 0, 0 },
};

static const struct key_def intermediary_keys[] = {
	{ "listen", V_LISTEN, offsetof(struct topology, listen), 0, 0, 0 },
	{ "path", V_HTTP_PATH, offsetof(struct topology, http_path), 0, 0, 0 },
	U("max_request", struct topology, max_request, 1, WIRE_BODY_MAX),
	U("max_connections", struct topology, max_connections, 1, 1000000),
	U("max_connections_per_ip", struct topology, max_connections_per_ip, 0, 1000000),
	U("timeout", struct topology, http_timeout, 1, 3600),
	U("header_timeout", struct topology, header_timeout, 1, 3600),
	U("body_timeout", struct topology, body_timeout, 1, 3600),
	U("stall_timeout", struct topology, stall_timeout_ms, 1, 3600000),
	LIMIT_KEYS(struct topology, intermediary_limits),
};

static const struct key_def association_keys[] = {
	{ "ledger", V_PATH, offsetof(struct topology, ledger), 0, 0, 0 },
	{ "ledger_append_only", V_APPEND_ONLY, offsetof(struct topology, ledger_append_only), 0, 0, 0 },
	{ "keys", V_PATH, offsetof(struct topology, association_keys), 0, 0, 0 },
	{ "public_key", V_PATH, offsetof(struct topology, association_public_key), 0, 0, 0 },
	{ "demo_keys", V_BOOL, offsetof(struct topology, association_demo_keys), 0, 0, 0 },
	{ "confirm", V_CONFIRM, offsetof(struct topology, confirm_k), 0, 1, TOPO_PROVIDERS_MAX },
	U("pending_timeout", struct topology, pending_timeout, 1, 86400),
	U("pending_max", struct topology, pending_max, 16, 16777216),
	LIMIT_KEYS(struct topology, association_limits),
};

static const struct key_def provider_keys[] = {
	{ "policy", V_PATH, offsetof(struct topo_provider, policy), 0, 0, 0 },
	{ "keys", V_PATH, offsetof(struct topo_provider, keys), 0, 0, 0 },
	{ "public_key", V_PATH, offsetof(struct topo_provider, public_key), 0, 0, 0 },
	{ "state", V_PATH, offsetof(struct topo_provider, state), 0, 0, 0 },
	{ "receive_body", V_BOOL, offsetof(struct topo_provider, receive_body), 0, 0, 0 },
	{ "demo_keys", V_BOOL, offsetof(struct topo_provider, demo_keys), 0, 0, 0 },
	{ "exec", V_BOOL, offsetof(struct topo_provider, exec), 0, 0, 0 },
	{ "exec_dir", V_PATH, offsetof(struct topo_provider, exec_dir), 0, 0, 0 },
	U("checkpoint_every", struct topo_provider, checkpoint_every, 1, 65536),
	U("checkpoint_ms", struct topo_provider, checkpoint_ms, 1, 60000),
	LIMIT_KEYS(struct topo_provider, limits),
};

#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(N_KEYS(provider_keys) <= SECTION_KEYS_MAX, "key bitmask too small");

/* ---- errors ---------------------------------------------------------- */

/* Records the first error only: later ones are usually its consequences. */
static int __attribute__((format(printf, 5, 6)))
fail_at(struct parse *p, struct origin o, const struct section_state *s, const char *key, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	p->failed = true;
	p->err_line = o.line;
	size_t n = 0;
	char *e = p->err;
	size_t cap = sizeof(p->err);
	if (o.line > 0)
		n = (size_t)snprintf(e, cap, "%s:%d: ", p->t->path, o.line);
	else if (o.override >= 0)
		n = (size_t)snprintf(e, cap, "--set %s: ", p->overrides[o.override]);
	else if (o.override == ORIGIN_NONE.override)
		n = (size_t)snprintf(e, cap, "%s: ", p->t->path);
	if (s != NULL && o.override == -1 && n < cap)
		n += (size_t)snprintf(e + n, cap - n, key ? "[%s] " : "[%s]: ", s->label);
	if (key != NULL && o.override == -1 && n < cap)
		n += (size_t)snprintf(e + n, cap - n, "%s: ", key);
	if (n < cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e + n, cap - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static struct origin line_origin(int line)
{
	return (struct origin){ line, -1 };
}

/* ---- values ---------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out, const char **end)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *stop;
	errno = 0;
	unsigned long long v = strtoull(s, &stop, 10);
	if (errno == ERANGE)
		return -1;
	*out = v;
	*end = stop;
	return 0;
}

int topology_parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t len)
{
	const char *end;
	if (parse_u64(v, out, &end) < 0 || *end != '\0' || *out < min || *out > max) {
		snprintf(msg, len, "expected an integer from %llu to %llu, got '%.64s'", (unsigned long long)min,
			 (unsigned long long)max, v);
		return -1;
	}
	return 0;
}

/* Bytes with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t len)
{
	const char *end = NULL;
	uint64_t n = 0;
	int shift = 0;
	if (parse_u64(v, &n, &end) == 0) {
		const char *suffixes = "KMGT";
		const char *at = *end ? strchr(suffixes, toupper((unsigned char)*end)) : NULL;
		if (at != NULL && end[1] == '\0') {
			shift = 10 * (int)(at - suffixes + 1);
			end++;
		}
	}
	if (end == NULL || *end != '\0' || (shift && n > (max >> shift)) || (n << shift) < min ||
	    (n << shift) > max) {
		snprintf(msg, len, "expected a size in bytes (suffix K, M, G or T allowed) from 1M to %lluT, got '%.64s'",
			 (unsigned long long)(max >> 40), v);
		return -1;
	}
	*out = n << shift;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *msg, size_t len)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < N_KEYS(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(msg, len, "expected yes or no, got '%.64s'", v);
	return -1;
}

/* "A.B.C.D:PORT" or "[V6]:PORT". */
static int parse_listen(const char *v, struct sockaddr_storage *ss, socklen_t *sslen, char *msg, size_t len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(v, ':');
	const char *h = v;
	size_t hlen = colon ? (size_t)(colon - v) : 0;
	bool v6 = v[0] == '[';
	if (v6 && hlen >= 2 && v[hlen - 1] == ']') {
		h = v + 1;
		hlen -= 2;
	} else if (v6) {
		hlen = 0;
	}
	uint64_t port;
	const char *end;
	memset(ss, 0, sizeof(*ss));
	bool ok = colon && hlen > 0 && hlen < sizeof(host) && parse_u64(colon + 1, &port, &end) == 0 && *end == '\0' &&
		  port <= 65535;
	if (ok) {
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (v6) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			ok = inet_pton(AF_INET6, host, &a6->sin6_addr) == 1;
			*sslen = sizeof(*a6);
		} else {
			struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			ok = inet_pton(AF_INET, host, &a4->sin_addr) == 1;
			*sslen = sizeof(*a4);
		}
	}
	if (!ok) {
		snprintf(msg, len, "expected A.B.C.D:PORT or [IPv6]:PORT (port 0 to 65535), got '%.64s'", v);
		return -1;
	}
	return 0;
}

/* A request path is compared exactly, so anything that cannot appear in
 * one (space, control bytes, query or fragment marks) is refused here. */
static int check_http_path(const char *v, char *msg, size_t len)
{
	size_t n = strlen(v);
	bool ok = v[0] == '/' && n <= HTTP_PATH_MAX;
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		ok = c > 0x20 && c != 0x7f && c != '?' && c != '#';
	}
	if (!ok) {
		snprintf(msg, len, "expected '/' then up to %d bytes without spaces, control bytes, '?' or '#', got '%.64s'",
			 HTTP_PATH_MAX - 1, v);
		return -1;
	}
	return 0;
}

/* "QUOTA PERIOD" or "max PERIOD" in microseconds, as cgroup v2 cpu.max takes it. */
static int parse_restart(const char *v, void *field, char *msg, size_t len)
{
	static const char *const names[] = { [RESTART_ON_FAILURE] = "on-failure", [RESTART_ALWAYS] = "always",
					     [RESTART_NEVER] = "never" };
	for (int i = 0; i < 3; i++)
		if (strcmp(v, names[i]) == 0) {
			*(enum topo_restart *)field = (enum topo_restart)i;
			return 0;
		}
	snprintf(msg, len, "expected always, on-failure or never, got '%.64s'", v);
	return -1;
}

static int parse_append_only(const char *v, void *field, char *msg, size_t len)
{
	static const char *const names[] = { [APPEND_ONLY_REQUIRED] = "required",
					     [APPEND_ONLY_BEST_EFFORT] = "best-effort" };
	for (int i = 0; i < 2; i++)
		if (strcmp(v, names[i]) == 0) {
			*(enum topo_append_only *)field = (enum topo_append_only)i;
			return 0;
		}
	snprintf(msg, len, "expected required or best-effort, got '%.64s'", v);
	return -1;
}

static int parse_cpu_max(const char *v, char out[32], char *msg, size_t len)
{
	uint64_t quota = 0, period;
	const char *end, *rest;
	bool is_max = strncmp(v, "max", 3) == 0;
	bool ok = is_max ? (rest = v + 3, true) : (parse_u64(v, &quota, &rest) == 0 && quota >= 1000 && quota <= 1000000000000ull);
	ok = ok && (*rest == ' ' || *rest == '\t');
	while (ok && (*rest == ' ' || *rest == '\t'))
		rest++;
	ok = ok && parse_u64(rest, &period, &end) == 0 && *end == '\0' && period >= 1000 && period <= 1000000;
	if (!ok) {
		snprintf(msg, len, "expected 'QUOTA PERIOD' or 'max PERIOD' in microseconds (QUOTA 1000 to 10^12, PERIOD 1000 to 1000000), got '%.64s'", v);
		return -1;
	}
	if (is_max)
		snprintf(out, 32, "max %llu", (unsigned long long)period);
	else
		snprintf(out, 32, "%llu %llu", (unsigned long long)quota, (unsigned long long)period);
	return 0;
}

/* Lexical normalisation: drops "." and empty components, resolves "..". */
static char *normalise_path(const char *dir, const char *v, char *msg, size_t len)
{
	size_t cap = strlen(dir) + strlen(v) + 3;
	char *joined = malloc(cap);
	char *out = malloc(cap);
	if (joined == NULL || out == NULL) {
		free(joined);
		free(out);
		snprintf(msg, len, "out of memory");
		return NULL;
	}
	snprintf(joined, cap, "%s/%s", v[0] == '/' ? "" : dir, v);
	size_t n = 0;
	char *save = NULL;
	for (char *c = strtok_r(joined, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (n > 0 && out[--n] != '/')
				;
			continue;
		}
		out[n++] = '/';
		size_t clen = strlen(c);
		memcpy(out + n, c, clen);
		n += clen;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	if (n >= PATH_MAX) {
		free(out);
		snprintf(msg, len, "path longer than %d bytes", PATH_MAX - 1);
		return NULL;
	}
	return out;
}

static void store_uint(void *field, size_t width, uint64_t v)
{
	if (width == sizeof(uint64_t)) {
		uint64_t w = v;
		memcpy(field, &w, sizeof(w));
	} else {
		uint32_t w = (uint32_t)v;
		memcpy(field, &w, sizeof(w));
	}
}

static int replace_string(char **field, char *fresh, char *msg, size_t len)
{
	if (fresh == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	free(*field);
	*field = fresh;
	return 0;
}

static int set_value(struct parse *p, const struct key_def *k, void *target, const char *v, char *msg, size_t len)
{
	char *field = (char *)target + k->offset;
	uint64_t n;
	switch (k->kind) {
	case V_UINT:
		if (topology_parse_uint(v, k->min, k->max, &n, msg, len) < 0)
			return -1;
		store_uint(field, k->width, n);
		return 0;
	case V_SIZE:
		if (parse_size(v, k->min, k->max, &n, msg, len) < 0)
			return -1;
		store_uint(field, k->width, n);
		return 0;
	case V_BOOL:
		return parse_bool(v, (bool *)field, msg, len);
	case V_CONFIRM:
		n = 0;
		if (strcmp(v, "all") != 0 && topology_parse_uint(v, k->min, k->max, &n, msg, len) < 0) {
			snprintf(msg, len, "expected 'all' or an integer from 1 to %d, got '%.64s'", TOPO_PROVIDERS_MAX, v);
			return -1;
		}
		store_uint(field, sizeof(unsigned), n);
		return 0;
	case V_CPU_MAX:
		return parse_cpu_max(v, field, msg, len);
	case V_RESTART:
		return parse_restart(v, field, msg, len);
	case V_APPEND_ONLY:
		return parse_append_only(v, field, msg, len);
	case V_PATH: {
		if (v[0] == '\0') {
			snprintf(msg, len, "expected a path, got ''");
			return -1;
		}
		char *abs = normalise_path(p->t->dir, v, msg, len);
		return abs ? replace_string((char **)field, abs, msg, len) : -1;
	}
	case V_HTTP_PATH:
		if (check_http_path(v, msg, len) < 0)
			return -1;
		return replace_string((char **)field, strdup(v), msg, len);
	case V_LISTEN: {
		struct topology *t = target;
		if (parse_listen(v, &t->listen_addr, &t->listen_addrlen, msg, len) < 0)
			return -1;
		return replace_string(&t->listen, strdup(v), msg, len);
	}
	}
	snprintf(msg, len, "internal error: unknown value kind");
	return -1;
}

/* ---- keys and sections ----------------------------------------------- */

static int find_key(const struct section_state *s, const char *key)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i].name, key) == 0)
			return (int)i;
	return -1;
}

/* The one path for every value, whether from a line of the file or a --set. */
static int apply_key(struct parse *p, struct section_state *s, const char *key, const char *value, struct origin o)
{
	int i = find_key(s, key);
	if (i < 0)
		return fail_at(p, o, s, key, "unknown key");
	uint32_t bit = 1u << i;
	if (o.line > 0 && (s->set_in_file & bit))
		return fail_at(p, o, s, key, "duplicate key (first set at line %d)", s->at[i].line);
	char msg[512];
	if (set_value(p, &s->keys[i], s->target, value, msg, sizeof(msg)) < 0)
		return fail_at(p, o, s, key, "%s", msg);
	if (o.line > 0)
		s->set_in_file |= bit;
	s->at[i] = o;
	return 0;
}

static struct section_state *find_provider(struct parse *p, const char *name)
{
	for (size_t i = 0; i < p->t->n_providers; i++)
		if (strcmp(p->t->providers[i].name, name) == 0)
			return &p->prov[i];
	return NULL;
}

static void init_section(struct section_state *s, const char *label, void *target, const struct key_def *keys,
			 size_t n_keys)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->target = target;
	s->keys = keys;
	s->n_keys = n_keys;
	for (size_t i = 0; i < SECTION_KEYS_MAX; i++)
		s->at[i] = ORIGIN_NONE;
}

static int add_provider(struct parse *p, const char *name, const char *label)
{
	struct topology *t = p->t;
	struct origin here = line_origin(p->line);
	struct section_state tmp = { .line = p->line };
	snprintf(tmp.label, sizeof(tmp.label), "%.*s", (int)sizeof(tmp.label) - 1, label);
	if (!wire_provider_name_valid(name))
		return fail_at(p, here, &tmp, NULL, "invalid provider name: expected 1 to %d of A-Z a-z 0-9 _ -",
			       WIRE_PROVIDER_ID_MAX);
	const struct section_state *dup = find_provider(p, name);
	if (dup != NULL)
		return fail_at(p, here, &tmp, NULL, "duplicate provider name (first at line %d)", dup->line);
	if (t->n_providers == TOPO_PROVIDERS_MAX)
		return fail_at(p, here, &tmp, NULL, "more than %d providers", TOPO_PROVIDERS_MAX);
	struct topo_provider *pr = &t->providers[t->n_providers];
	snprintf(pr->name, sizeof(pr->name), "%s", name);
	pr->checkpoint_every = 256;
	pr->checkpoint_ms = 2;
	pr->line = p->line;
	struct section_state *s = &p->prov[t->n_providers];
	init_section(s, tmp.label, pr, provider_keys, N_KEYS(provider_keys));
	s->line = p->line;
	t->n_providers++;
	p->cur = s;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A header line: "[runner]", "[intermediary]", "[association]" or
 * "[provider NAME]", optionally followed by a comment. */
static int begin_section(struct parse *p, const char *line)
{
	char text[256];
	snprintf(text, sizeof(text), "%s", line + 1);
	char *close = strchr(text, ']');
	if (close == NULL)
		return 0; /* inih reports the syntax error on this same line */
	*close = '\0';
	const char *after = close + 1;
	while (isspace((unsigned char)*after))
		after++;
	struct origin here = line_origin(p->line);
	char *name = trim(text);
	struct section_state tmp = { .line = p->line };
	snprintf(tmp.label, sizeof(tmp.label), "%.*s", (int)sizeof(tmp.label) - 1, name);
	if (*after != '\0' && *after != ';' && *after != '#')
		return fail_at(p, here, &tmp, NULL, "unexpected text after ']'");
	static const char *const fixed[SEC_FIXED_COUNT] = { "runner", "intermediary", "association" };
	for (int i = 0; i < SEC_FIXED_COUNT; i++) {
		if (strcmp(name, fixed[i]) != 0)
			continue;
		if (p->fixed[i].line != 0)
			return fail_at(p, here, &tmp, NULL, "duplicate section (first at line %d)", p->fixed[i].line);
		p->fixed[i].line = p->line;
		p->cur = &p->fixed[i];
		return 0;
	}
	if (strncmp(name, "provider", 8) == 0 && isspace((unsigned char)name[8]))
		return add_provider(p, trim(name + 9), name);
	return fail_at(p, here, &tmp, NULL, "unknown section");
}

/* ---- reading the file ------------------------------------------------ */

/* ini_reader: one line of the file per call, without its leading
 * whitespace (this format has no continuation lines, and inih would
 * otherwise join an indented line to the key above it). */
static char *next_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	if (p->failed || p->pos >= p->len)
		return NULL;
	const char *start = p->buf + p->pos;
	const char *nl = memchr(start, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += n;
	p->line++;
	size_t content = nl ? n - 1 : n;
	size_t skip = 0;
	if (p->line == 1 && content >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0)
		skip = 3; /* a UTF-8 byte order mark, as inih allows */
	while (skip < content && isspace((unsigned char)start[skip]))
		skip++;
	/* inih takes a buffer-filling line for an overlong one and swallows the
	 * next, so a line must leave room for its newline and the terminator. */
	if (content - skip > (size_t)num - 2) {
		fail_at(p, line_origin(p->line), NULL, NULL, "line longer than %d bytes", num - 2);
		return NULL;
	}
	if (memchr(start, '\0', content) != NULL) {
		fail_at(p, line_origin(p->line), NULL, NULL, "NUL byte in line");
		return NULL;
	}
	memcpy(str, start + skip, content - skip);
	str[content - skip] = '\n';
	str[content - skip + 1] = '\0';
	if (str[0] == '[' && begin_section(p, str) < 0)
		return NULL;
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	(void)section; /* the reader tracks sections; see begin_section */
	if (p->failed)
		return 0;
	if (p->cur == NULL) {
		fail_at(p, line_origin(p->line), NULL, name, "key outside any section");
		return 0;
	}
	return apply_key(p, p->cur, name, value, line_origin(p->line)) == 0;
}

static int read_file(struct parse *p, char **buf, size_t *len)
{
	const char *path = p->t->path;
	struct origin none = ORIGIN_BARE;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_at(p, none, NULL, NULL, "open %s: %s", path, strerror(errno));
	struct stat st;
	char *data = NULL;
	size_t n = 0;
	int rc = -1;
	if (fstat(fd, &st) < 0)
		fail_at(p, none, NULL, NULL, "fstat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fail_at(p, none, NULL, NULL, "%s: not a regular file", path);
	else if ((data = malloc(TOPO_FILE_MAX + 1)) == NULL)
		fail_at(p, none, NULL, NULL, "out of memory");
	else
		rc = 0;
	while (rc == 0 && n <= TOPO_FILE_MAX) {
		ssize_t r = read(fd, data + n, TOPO_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = fail_at(p, none, NULL, NULL, "read %s: %s", path, strerror(errno));
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (rc == 0 && n > TOPO_FILE_MAX)
		rc = fail_at(p, none, NULL, NULL, "%s: larger than %u bytes", path, TOPO_FILE_MAX);
	close(fd);
	if (rc < 0) {
		free(data);
		return -1;
	}
	*buf = data;
	*len = n;
	return 0;
}

static int parse_file(struct parse *p)
{
	char *data = NULL;
	if (read_file(p, &data, &p->len) < 0)
		return -1;
	p->buf = data;
	int r = ini_parse_stream(next_line, p, on_key, p);
	free(data);
	p->buf = NULL;
	/* inih keeps going after a syntax error and returns the first error
	 * line, ours included (the handler's refusal marks its line). */
	if (r > 0 && (!p->failed || r < p->err_line)) {
		p->failed = false;
		return fail_at(p, line_origin(r), NULL, NULL,
			       "syntax error: expected '[section]', 'key = value' or a comment");
	}
	if (r < 0 && !p->failed)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "inih failed (%d)", r);
	return p->failed ? -1 : 0;
}

/* ---- overrides ------------------------------------------------------- */

static int apply_override(struct parse *p, int idx)
{
	struct origin o = { 0, idx };
	char *copy = strdup(p->overrides[idx]);
	if (copy == NULL)
		return fail_at(p, o, NULL, NULL, "out of memory");
	int rc = -1;
	char *eq = strchr(copy, '=');
	char *dot = eq ? memchr(copy, '.', (size_t)(eq - copy)) : NULL;
	if (dot == NULL) {
		rc = fail_at(p, o, NULL, NULL, "expected section.key=value or provider.NAME.key=value");
		goto out;
	}
	*eq = '\0';
	*dot = '\0';
	char *section = trim(copy), *key = trim(dot + 1), *value = trim(eq + 1);
	struct section_state *s = NULL;
	if (strcmp(section, "provider") == 0) {
		char *dot2 = strchr(key, '.');
		if (dot2 == NULL) {
			rc = fail_at(p, o, NULL, NULL, "expected provider.NAME.key=value");
			goto out;
		}
		*dot2 = '\0';
		s = find_provider(p, key);
		if (s == NULL) {
			rc = fail_at(p, o, NULL, NULL, "no provider %s in %s", key, p->t->path);
			goto out;
		}
		key = trim(dot2 + 1);
	}
	static const char *const fixed[SEC_FIXED_COUNT] = { "runner", "intermediary", "association" };
	for (int i = 0; s == NULL && i < SEC_FIXED_COUNT; i++)
		if (strcmp(section, fixed[i]) == 0)
			s = &p->fixed[i];
	if (s == NULL)
		rc = fail_at(p, o, NULL, NULL, "unknown section '%s'", section);
	else if (find_key(s, key) < 0)
		rc = fail_at(p, o, NULL, NULL, "unknown key '%s' in [%s]", key, s->label);
	else
		rc = apply_key(p, s, key, value, o);
out:
	free(copy);
	return rc;
}

/* ---- validation ------------------------------------------------------ */

static struct origin origin_of(const struct section_state *s, const char *key)
{
	struct origin o = s->at[find_key(s, key)];
	return (o.line > 0 || o.override >= 0) ? o : line_origin(s->line);
}

/* want: S_IFREG or S_IFDIR. */
static int check_exists(struct parse *p, const struct section_state *s, const char *key, const char *path,
			mode_t want)
{
	struct stat st;
	struct origin o = origin_of(s, key);
	if (stat(path, &st) < 0)
		return fail_at(p, o, s, key, "stat %s: %s", path, strerror(errno));
	if ((st.st_mode & S_IFMT) != want)
		return fail_at(p, o, s, key, "%s is not a %s", path, want == S_IFDIR ? "directory" : "regular file");
	return 0;
}

/* A missing directory is allowed (created later), anything else must be one. */
static int check_dir_if_present(struct parse *p, const struct section_state *s, const char *key, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	return check_exists(p, s, key, path, S_IFDIR);
}

static int validate_provider(struct parse *p, size_t i)
{
	struct topo_provider *pr = &p->t->providers[i];
	struct section_state *s = &p->prov[i];
	if (pr->policy == NULL)
		return fail_at(p, line_origin(s->line), s, "policy", "missing required key");
	if (pr->keys == NULL)
		return fail_at(p, line_origin(s->line), s, "keys", "missing required key");
	if (pr->public_key == NULL) {
		char msg[128];
		size_t len = strlen(pr->keys) + sizeof("/" KEYS_PUBLIC_NAME);
		char *def = malloc(len);
		if (def != NULL)
			snprintf(def, len, "%s/%s", pr->keys, KEYS_PUBLIC_NAME);
		if (replace_string(&pr->public_key, def, msg, sizeof(msg)) < 0)
			return fail_at(p, line_origin(s->line), s, "public_key", "%s", msg);
		s->at[find_key(s, "public_key")] = origin_of(s, "keys");
	}
	if (check_exists(p, s, "policy", pr->policy, S_IFREG) < 0)
		return -1;
	if (pr->demo_keys ? check_dir_if_present(p, s, "keys", pr->keys) < 0
			  : check_exists(p, s, "keys", pr->keys, S_IFDIR) < 0)
		return -1;
	if (!pr->demo_keys && check_exists(p, s, "public_key", pr->public_key, S_IFREG) < 0)
		return -1;
	if (pr->state != NULL && check_exists(p, s, "state", pr->state, S_IFDIR) < 0)
		return -1;
	if (pr->exec_dir != NULL && check_exists(p, s, "exec_dir", pr->exec_dir, S_IFDIR) < 0)
		return -1;
	if (pr->exec_dir != NULL && !pr->exec)
		return fail_at(p, origin_of(s, "exec_dir"), s, "exec_dir", "needs exec = yes");
	/* Its programs fork: without a process cap one body could fork-bomb the
	 * host uid's share (no default fits every program, so it is asked). */
	if (pr->exec && pr->limits.nproc == 0)
		return fail_at(p, origin_of(s, "exec"), s, "exec",
			       "exec = yes needs nproc (RLIMIT_NPROC for the provider and its programs) in this section");
	const char *key;
	char msg[PATH_MAX + 128];
	if (topology_dirs_conflict(p->t, i, &key, msg, sizeof(msg)))
		return fail_at(p, origin_of(s, key), s, key, "%s", msg);
	return 0;
}

/* Joins dir and name into a fresh string (NULL when out of memory). */
static char *path_in(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *out = malloc(len);
	if (out != NULL)
		snprintf(out, len, "%s/%s", dir, name);
	return out;
}

/* The association's head-signing key: by default beside the ledger,
 * generated on first start (it signs what the association wrote, never an
 * outcome, so a fresh key costs no authority; a deployment that pins its
 * public key provisions it and sets demo_keys = no). */
static int validate_association_keys(struct parse *p)
{
	struct topology *t = p->t;
	struct section_state *s = &p->fixed[SEC_ASSOCIATION];
	char msg[128];
	if (t->association_keys == NULL) {
		char *copy = strdup(t->ledger);
		char *def = copy ? path_in(dirname(copy), "association-keys") : NULL;
		free(copy);
		if (replace_string(&t->association_keys, def, msg, sizeof(msg)) < 0)
			return fail_at(p, ORIGIN_NONE, s, "keys", "%s", msg);
		s->at[find_key(s, "keys")] = origin_of(s, "ledger");
	}
	if (t->association_public_key == NULL) {
		if (replace_string(&t->association_public_key, path_in(t->association_keys, KEYS_PUBLIC_NAME), msg,
				   sizeof(msg)) < 0)
			return fail_at(p, ORIGIN_NONE, s, "public_key", "%s", msg);
		s->at[find_key(s, "public_key")] = origin_of(s, "keys");
	}
	if (t->association_demo_keys ? check_dir_if_present(p, s, "keys", t->association_keys) < 0
				     : check_exists(p, s, "keys", t->association_keys, S_IFDIR) < 0)
		return -1;
	if (!t->association_demo_keys &&
	    check_exists(p, s, "public_key", t->association_public_key, S_IFREG) < 0)
		return -1;
	/* Bound into the association's sandbox: never a provider's. */
	for (size_t i = 0; i < t->n_providers; i++)
		if (strcmp(t->providers[i].keys, t->association_keys) == 0)
			return fail_at(p, origin_of(s, "keys"), s, "keys", "same directory as provider %s",
				       t->providers[i].name);
	return 0;
}

static int validate(struct parse *p)
{
	struct topology *t = p->t;
	struct section_state *assoc = &p->fixed[SEC_ASSOCIATION];
	if (t->n_providers == 0)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "no [provider NAME] section");
	if (t->confirm_k > t->n_providers)
		return fail_at(p, origin_of(assoc, "confirm"), assoc, "confirm", "%u is more than the %zu providers",
			       t->confirm_k, t->n_providers);
	struct stat st;
	if (stat(t->ledger, &st) == 0 && S_ISDIR(st.st_mode))
		return fail_at(p, origin_of(assoc, "ledger"), assoc, "ledger", "%s is a directory", t->ledger);
	if (t->association_limits.fsize)
		return fail_at(p, origin_of(assoc, "fsize"), assoc, "fsize",
			       "not for the association: RLIMIT_FSIZE would cut its ledger");
	for (size_t i = 0; i < t->n_providers; i++)
		if (validate_provider(p, i) < 0)
			return -1;
	return validate_association_keys(p);
}

/* ---- setup ----------------------------------------------------------- */

static int set_defaults(struct parse *p)
{
	struct topology *t = p->t;
	char msg[256];
	t->uid_base = 200000;
	t->max_request = 65536;
	t->max_connections = 4096;
	t->restart_budget = 10;
	t->restart_backoff_ms = 100;
	t->restart_backoff_max_ms = 5000;
	t->http_timeout = 15;
	t->header_timeout = 20;
	t->body_timeout = 30;
	t->stall_timeout_ms = 300000;
	t->pending_timeout = 30;
	t->pending_max = 65536;
	t->association_demo_keys = true;
	init_section(&p->fixed[SEC_RUNNER], "runner", t, runner_keys, N_KEYS(runner_keys));
	init_section(&p->fixed[SEC_INTERMEDIARY], "intermediary", t, intermediary_keys, N_KEYS(intermediary_keys));
	init_section(&p->fixed[SEC_ASSOCIATION], "association", t, association_keys, N_KEYS(association_keys));
	if (set_value(p, &intermediary_keys[0], t, "127.0.0.1:8080", msg, sizeof(msg)) < 0 ||
	    set_value(p, &intermediary_keys[1], t, "/nuvl", msg, sizeof(msg)) < 0 ||
	    set_value(p, &association_keys[0], t, "/var/lib/mpbs/ledger.jsonl", msg, sizeof(msg)) < 0)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "%s", msg);
	return 0;
}

static int resolve_dir(struct parse *p)
{
	struct topology *t = p->t;
	char *copy = strdup(t->path);
	if (copy == NULL)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "out of memory");
	t->dir = realpath(dirname(copy), NULL);
	int saved = errno;
	free(copy);
	if (t->dir == NULL)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "cannot resolve its directory: %s", strerror(saved));
	return 0;
}

int topology_load(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		  char *errbuf, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	struct parse *p = calloc(1, sizeof(*p));
	t->path = strdup(path);
	if (p == NULL || t->path == NULL || n_overrides > INT_MAX) {
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s: out of memory", path);
		free(p);
		topology_free(t);
		return -1;
	}
	p->t = t;
	p->overrides = overrides;
	int rc = resolve_dir(p) < 0 || set_defaults(p) < 0 || parse_file(p) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < n_overrides; i++)
		rc = apply_override(p, (int)i);
	if (rc == 0)
		rc = validate(p);
	if (rc < 0) {
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s", p->err);
		topology_free(t);
	}
	free(p);
	return rc;
}

void topology_free(struct topology *t)
{
	free(t->path);
	free(t->dir);
	free(t->listen);
	free(t->http_path);
	free(t->ledger);
	free(t->association_keys);
	free(t->association_public_key);
	for (size_t i = 0; i < TOPO_PROVIDERS_MAX; i++) {
		struct topo_provider *pr = &t->providers[i];
		free(pr->policy);
		free(pr->keys);
		free(pr->public_key);
		free(pr->state);
		free(pr->exec_dir);
	}
	memset(t, 0, sizeof(*t));
}
