/* SPDX-License-Identifier: Apache-2.0 */
/* The values of topology.conf: each type of key (runner/topology_keys.h)
 * parsed and checked, with a message that says what was expected. */
#include "topology_values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nats_urls.h"
#include "topology.h"

#define HTTP_PATH_MAX 255

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

/* A size in its largest unit that divides it: 4096 -> "4K", 1 << 40 -> "1T". */
static void size_text(uint64_t n, char *out, size_t len)
{
	static const char units[] = "KMGT";
	int u = 0;
	while (u < 4 && n && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, "%llu%.*s", (unsigned long long)n, u ? 1 : 0, u ? &units[u - 1] : "");
}

void topo_size_range_text(const struct topo_key *k, char *out, size_t len)
{
	char lo[24], hi[24]; /* 20 digits and a unit at most */
	size_text(k->min, lo, sizeof(lo));
	size_text(k->max, hi, sizeof(hi));
	snprintf(out, len, "%s to %s", lo, hi);
}

/* µs as milliseconds, without trailing zeros: 1500 -> "1.5". */
static void ms_text(uint64_t us, char *out, size_t len)
{
	int n = snprintf(out, len, "%llu.%03llu", (unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
	while (n > 0 && (size_t)n < len && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && (size_t)n < len && out[n - 1] == '.')
		out[--n] = '\0';
}

void topo_ms_range_text(const struct topo_key *k, char *out, size_t len)
{
	char lo[32], hi[32];
	ms_text(k->min, lo, sizeof(lo));
	ms_text(k->max, hi, sizeof(hi));
	snprintf(out, len, "%s to %s", lo, hi);
}

/* Milliseconds to the microsecond: digits, then at most a point and one to
 * three digits ("2", "1.5", "0.25"); *out in µs. */
static int parse_ms(const struct topo_key *k, const char *v, uint64_t *out, char *msg, size_t len)
{
	const char *end = NULL;
	uint64_t whole = 0, frac = 0;
	bool ok = parse_u64(v, &whole, &end) == 0 && whole <= k->max / 1000; /* so whole * 1000 + frac cannot wrap */
	if (ok && *end == '.') {
		size_t digits = strspn(end + 1, "0123456789");
		ok = digits >= 1 && digits <= 3 && end[1 + digits] == '\0';
		for (size_t i = 0; ok && i < 3; i++)
			frac = frac * 10 + (i < digits ? (uint64_t)(end[1 + i] - '0') : 0);
	} else {
		ok = ok && *end == '\0';
	}
	uint64_t us = whole * 1000 + frac;
	if (!ok || us < k->min || us > k->max) {
		char range[80];
		topo_ms_range_text(k, range, sizeof(range));
		snprintf(msg, len, "expected milliseconds from %s, to the microsecond (at most 3 decimals), got '%.64s'",
			 range, v);
		return -1;
	}
	*out = us;
	return 0;
}

/* Bytes with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const struct topo_key *k, const char *v, uint64_t *out, char *msg, size_t len)
{
	uint64_t min = k->min, max = k->max;
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
		char range[64];
		topo_size_range_text(k, range, sizeof(range));
		snprintf(msg, len, "expected a size in bytes (suffix K, M, G or T allowed) from %s, got '%.64s'", range, v);
		return -1;
	}
	*out = n << shift;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *msg, size_t len)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
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

int topo_replace_string(char **field, char *fresh, char *msg, size_t len)
{
	if (fresh == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	free(*field);
	*field = fresh;
	return 0;
}

bool topo_host_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > TOPO_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

int topo_set_value(const struct topo_key *k, void *base, const char *dir, const char *v, char *msg, size_t len)
{
	char *field = (char *)base + k->offset;
	uint64_t n;
	switch (k->type) {
	case TOPO_UINT:
		if (topology_parse_uint(v, k->min, k->max, &n, msg, len) < 0)
			return -1;
		store_uint(field, k->width, n);
		return 0;
	case TOPO_SIZE:
		if (parse_size(k, v, &n, msg, len) < 0)
			return -1;
		store_uint(field, k->width, n);
		return 0;
	case TOPO_MS:
		if (parse_ms(k, v, &n, msg, len) < 0)
			return -1;
		store_uint(field, k->width, n);
		return 0;
	case TOPO_BOOL:
		return parse_bool(v, (bool *)field, msg, len);
	case TOPO_CONFIRM:
		n = 0;
		if (strcmp(v, "all") != 0 && topology_parse_uint(v, k->min, k->max, &n, msg, len) < 0) {
			snprintf(msg, len, "expected 'all' or an integer from %llu to %llu, got '%.64s'",
				 (unsigned long long)k->min, (unsigned long long)k->max, v);
			return -1;
		}
		store_uint(field, k->width, n);
		return 0;
	case TOPO_CPU_MAX:
		return parse_cpu_max(v, field, msg, len);
	case TOPO_RESTART:
		return parse_restart(v, field, msg, len);
	case TOPO_APPEND_ONLY:
		return parse_append_only(v, field, msg, len);
	case TOPO_PATH: {
		if (v[0] == '\0') {
			snprintf(msg, len, "expected a path, got ''");
			return -1;
		}
		char *abs = normalise_path(dir, v, msg, len);
		return abs ? topo_replace_string((char **)field, abs, msg, len) : -1;
	}
	case TOPO_HTTP_PATH:
		if (check_http_path(v, msg, len) < 0)
			return -1;
		return topo_replace_string((char **)field, strdup(v), msg, len);
	case TOPO_HOST:
		if (!topo_host_name_valid(v)) {
			snprintf(msg, len, "expected a host part's name, 1 to %d of A-Z a-z 0-9 _ -, got '%.64s'",
				 TOPO_HOST_MAX, v);
			return -1;
		}
		return topo_replace_string((char **)field, strdup(v), msg, len);
	case TOPO_NATS_SERVERS: {
		struct nats_url urls[NATS_URLS_MAX];
		if (nats_urls_parse(v, urls, msg, len) < 0)
			return -1;
		return topo_replace_string((char **)field, strdup(v), msg, len);
	}
	case TOPO_LISTEN: {
		struct topology *t = base;
		if (parse_listen(v, &t->listen_addr, &t->listen_addrlen, msg, len) < 0)
			return -1;
		return topo_replace_string(&t->listen, strdup(v), msg, len);
	}
	}
	snprintf(msg, len, "internal error: unknown value kind");
	return -1;
}

void topo_free_value(const struct topo_key *k, void *base)
{
	if (k->type != TOPO_PATH && k->type != TOPO_LISTEN && k->type != TOPO_HTTP_PATH && k->type != TOPO_HOST &&
	    k->type != TOPO_NATS_SERVERS)
		return;
	char **field = (char **)((char *)base + k->offset);
	free(*field);
	*field = NULL;
}
