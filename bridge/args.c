/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define IS_OPT(name) (strcmp(opt, name) == 0)

static bool parse_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_fd(const char *s, int *fd)
{
	unsigned long long v;
	/* 0, 1, 2 are stdin, stdout and the log: never a channel or a pipe */
	if (!parse_uint(s, 3, INT_MAX, &v))
		return false;
	*fd = (int)v;
	return true;
}

/* nats://IP:PORT or tls://IP:PORT, IP a literal (IPv6 in brackets): the
 * bridge resolves no name. */
static bool parse_server_url(const char *url, bool *tls)
{
	const char *rest;
	if (strncmp(url, "nats://", 7) == 0) {
		rest = url + 7;
		*tls = false;
	} else if (strncmp(url, "tls://", 6) == 0) {
		rest = url + 6;
		*tls = true;
	} else {
		return false;
	}
	char host[64];
	const char *colon;
	int family = AF_INET;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return false;
		colon = close + 1;
		rest++;
		family = AF_INET6;
	} else {
		colon = strrchr(rest, ':');
	}
	if (!colon)
		return false;
	size_t hlen = (size_t)(colon - rest) - (family == AF_INET6 ? 1 : 0);
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, rest, hlen);
	host[hlen] = '\0';
	unsigned char addr[16];
	unsigned long long port;
	return inet_pton(family, host, addr) == 1 && parse_uint(colon + 1, 1, 65535, &port);
}

static bool name_chars_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n >= 1 && n <= max && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* NATS subject tokens separated by dots, no wildcard, no empty token. */
static bool inbox_prefix_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") == n;
}

static bool parse_kind(const char *s, size_t len, enum lane_kind *kind)
{
	if (len == 3 && strncmp(s, "art", 3) == 0)
		*kind = LANE_ART;
	else if (len == 3 && strncmp(s, "sig", 3) == 0)
		*kind = LANE_SIG;
	else
		return false;
	return true;
}

/* KIND:PROVIDER into kind and provider; rest gets what follows a third
 * colon (NULL when there is none). */
static bool parse_kind_provider(const char *s, enum lane_kind *kind, char provider[BRIDGE_PROVIDER_MAX + 1],
				const char **rest)
{
	const char *c1 = strchr(s, ':');
	if (!c1 || !parse_kind(s, (size_t)(c1 - s), kind))
		return false;
	const char *c2 = strchr(c1 + 1, ':');
	size_t plen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (plen == 0 || plen > BRIDGE_PROVIDER_MAX)
		return false;
	memcpy(provider, c1 + 1, plen);
	provider[plen] = '\0';
	*rest = c2 ? c2 + 1 : NULL;
	return name_chars_ok(provider, BRIDGE_PROVIDER_MAX);
}

static bool parse_lane(const char *s, struct lane_arg *lane)
{
	if (strncmp(s, "out:", 4) == 0)
		lane->out = true;
	else if (strncmp(s, "in:", 3) == 0)
		lane->out = false;
	else
		return false;
	const char *rest;
	if (!parse_kind_provider(strchr(s, ':') + 1, &lane->kind, lane->provider, &rest) || !rest)
		return false;
	char fds[32];
	if (strlen(rest) >= sizeof(fds))
		return false;
	strcpy(fds, rest);
	char *colon = strchr(fds, ':');
	if (!colon)
		return false;
	*colon = '\0';
	return parse_fd(fds, &lane->channel_fd) && parse_fd(colon + 1, &lane->state_fd);
}

static const char *apply_number(struct bridge_args *a, const char *opt, const char *val)
{
	unsigned long long v;
	if (IS_OPT("--batch-frames")) {
		if (!parse_uint(val, 1, 4096, &v))
			return "must be 1..4096";
		a->batch_frames = (unsigned)v;
	} else if (IS_OPT("--batch-bytes")) {
		if (!parse_uint(val, 4096, 1048576, &v))
			return "must be 4096..1048576";
		a->batch_bytes = (unsigned)v;
	} else if (IS_OPT("--window")) {
		if (!parse_uint(val, 1, BRIDGE_WINDOW_MAX, &v))
			return "must be 1..256";
		a->window = (unsigned)v;
	} else if (IS_OPT("--replicas")) {
		if (!parse_uint(val, 1, 5, &v))
			return "must be 1..5";
		a->replicas = (unsigned)v;
	} else if (IS_OPT("--max-bytes")) {
		if (!parse_uint(val, 1, INT64_MAX, &v))
			return "must be a positive byte count";
		a->max_bytes = (int64_t)v;
	} else if (IS_OPT("--status-fd") || IS_OPT("--control-fd") || IS_OPT("--seccomp-fd") ||
		   (IS_OPT("--secrets-fd") && !a->init)) {
		int fd;
		if (!parse_fd(val, &fd))
			return "must be a descriptor number of 3 or more";
		*(IS_OPT("--status-fd")    ? &a->status_fd
		  : IS_OPT("--control-fd") ? &a->control_fd
		  : IS_OPT("--secrets-fd") ? &a->secrets_fd
					   : &a->seccomp_fd) = fd;
	} else {
		return "is not an option of this mode";
	}
	return NULL;
}

static const char *apply_repeatable(struct bridge_args *a, const char *opt, const char *val)
{
	if (IS_OPT("--server")) {
		bool tls;
		if (a->server_count == BRIDGE_SERVERS_MAX)
			return "given more than 16 times";
		if (!parse_server_url(val, &tls))
			return "must be nats://IP:PORT or tls://IP:PORT with an IP literal";
		a->tls = a->tls || tls;
		a->servers[a->server_count++] = val;
	} else if (IS_OPT("--lane") && !a->init) {
		if (a->lane_count == BRIDGE_LANES_MAX)
			return "given more than 128 times";
		if (!parse_lane(val, &a->lanes[a->lane_count]))
			return "must be DIR:KIND:PROVIDER:CHANNEL_FD:STATE_FD (out|in, art|sig, [A-Za-z0-9_-]{1,32}, fds >= 3)";
		a->lane_count++;
	} else if (IS_OPT("--stream") && a->init) {
		const char *rest;
		struct stream_arg *s = &a->streams[a->stream_count];
		if (a->stream_count == BRIDGE_STREAMS_MAX)
			return "given more than 128 times";
		if (!parse_kind_provider(val, &s->kind, s->provider, &rest) || rest)
			return "must be KIND:PROVIDER (art|sig, [A-Za-z0-9_-]{1,32})";
		a->stream_count++;
	} else {
		return apply_number(a, opt, val);
	}
	return NULL;
}

static const char *apply_option(struct bridge_args *a, const char *opt, const char *val)
{
	const char **text = IS_OPT("--user") ? &a->user
			    : IS_OPT("--password-file") ? &a->password_file
			    : IS_OPT("--tls-ca") ? &a->tls_ca
			    : IS_OPT("--tls-cert") ? &a->tls_cert
			    : IS_OPT("--tls-key") ? &a->tls_key
			    : (IS_OPT("--host") && !a->init) ? &a->host
			    : IS_OPT("--inbox-prefix") ? &a->inbox_prefix
			    : NULL;
	if (!text)
		return apply_repeatable(a, opt, val);
	if (*val == '\0')
		return "must not be empty";
	if (text == &a->host && !name_chars_ok(val, 64))
		return "must be [A-Za-z0-9_-]{1,64}";
	if (text == &a->user && !name_chars_ok(val, 64))
		return "must be [A-Za-z0-9_-]{1,64}";
	if (text == &a->inbox_prefix && !inbox_prefix_ok(val))
		return "must be NATS subject tokens ([A-Za-z0-9_-] separated by single dots, no wildcard)";
	if (text == &a->tls_ca)
		a->tls = true;
	*text = val;
	return NULL;
}

/* Options that may appear once: a second one is refused rather than
 * silently winning. */
static bool repeatable(const char *opt)
{
	return IS_OPT("--server") || IS_OPT("--lane") || IS_OPT("--stream");
}

static const char *check_run(const struct bridge_args *a)
{
	if (!a->host || !a->inbox_prefix || !a->batch_frames || !a->batch_bytes || !a->window)
		return "--host, --inbox-prefix, --batch-frames, --batch-bytes and --window are required";
	if (a->status_fd < 0 || a->control_fd < 0 || a->seccomp_fd < 0)
		return "--status-fd, --control-fd and --seccomp-fd are required";
	if (a->lane_count == 0)
		return "at least one --lane is required";
	for (size_t i = 0; i < a->lane_count; i++)
		for (size_t j = 0; j < i; j++)
			if (a->lanes[i].out == a->lanes[j].out && a->lanes[i].kind == a->lanes[j].kind &&
			    strcmp(a->lanes[i].provider, a->lanes[j].provider) == 0)
				return "--lane: the same direction, kind and provider given twice";
	return NULL;
}

static const char *check_common(const struct bridge_args *a)
{
	if (!a->user || (!a->password_file && a->secrets_fd < 0) || a->server_count == 0)
		return "--user, --password-file (or --secrets-fd) and at least one --server are required";
	if (a->secrets_fd >= 0 && (a->password_file || a->tls_ca || a->tls_cert || a->tls_key))
		return "--secrets-fd carries the password and TLS material: no --password-file or --tls-* with it";
	if ((a->tls_cert == NULL) != (a->tls_key == NULL))
		return "--tls-cert and --tls-key go together";
	if (a->init && (!a->replicas || !a->max_bytes || a->stream_count == 0))
		return "--replicas, --max-bytes and at least one --stream are required";
	return a->init ? NULL : check_run(a);
}

int args_parse(int argc, char **argv, struct bridge_args *a, char *err, size_t errlen)
{
	*a = (struct bridge_args){ .status_fd = -1, .control_fd = -1, .seccomp_fd = -1, .secrets_fd = -1 };
	if (argc < 2 || (strcmp(argv[1], "--run") != 0 && strcmp(argv[1], "--init") != 0)) {
		snprintf(err, errlen, "the first argument must be --run or --init");
		return -1;
	}
	a->init = strcmp(argv[1], "--init") == 0;
	char seen[64][24] = { { 0 } };
	size_t nseen = 0;
	for (int i = 2; i < argc; i += 2) {
		const char *opt = argv[i];
		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s: needs a value", opt);
			return -1;
		}
		for (size_t s = 0; s < nseen; s++)
			if (strcmp(seen[s], opt) == 0 && !repeatable(opt)) {
				snprintf(err, errlen, "%s: given twice", opt);
				return -1;
			}
		if (strlen(opt) < sizeof(seen[0]) && nseen < 64)
			strcpy(seen[nseen++], opt);
		const char *why = apply_option(a, opt, argv[i + 1]);
		if (why) {
			snprintf(err, errlen, "%s %.80s: %s", opt, argv[i + 1], why);
			return -1;
		}
	}
	const char *why = check_common(a);
	if (why) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

const char *lane_kind_name(enum lane_kind kind)
{
	return kind == LANE_ART ? "art" : "sig";
}

void lane_subject(enum lane_kind kind, const char *provider, char *out, size_t len)
{
	snprintf(out, len, "mpbs.%s.%s", lane_kind_name(kind), provider);
}

void lane_stream(enum lane_kind kind, const char *provider, char *out, size_t len)
{
	snprintf(out, len, "MPBS_%s_%s", kind == LANE_ART ? "ART" : "SIG", provider);
}

void lane_durable(enum lane_kind kind, const char *provider, char *out, size_t len)
{
	snprintf(out, len, "%s-%s", lane_kind_name(kind), provider);
}
