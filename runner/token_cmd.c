/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run token`: the operator's side of provider tokens (keygen_cmd.c
 * writes their keys). The token itself is made by lib/token.c, the same code
 * the provider checks it with. */
#include "token_cmd.h"
#include "../lib/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/derive.h"
#include "../lib/keys.h"
#include "../lib/log.h"
#include "../lib/token.h"
#include "../lib/wire.h"
#include "cli.h"

#define TTL_DEFAULT 60u
#define TTL_MAX 86400u
#define NONCE_RANDOM_BYTES 16

struct token_args {
	const char *key_path, *context, *body_path, *nonce;
	uint64_t ttl;
};

static void usage(void)
{
	printf("usage: mpbs-run token --key FILE --context CTX --body FILE|- [--ttl SECONDS] [--nonce N]\n"
	       "print a valid X-Provider-Token for that body (--body -: read it from stdin)\n"
	       "  --key FILE      the provider's token key (see: mpbs-run help keygen)\n"
	       "  --context CTX   the X-Verification-Context the request will carry\n"
	       "  --ttl SECONDS   how long the token is valid (1 to %u, default %u)\n"
	       "  --nonce N       the token's nonce (default: 16 random bytes in hex)\n",
	       TTL_MAX, TTL_DEFAULT);
}

static int parse_ttl(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] < '0' || s[0] > '9' || v < 1 || v > TTL_MAX)
		return -1;
	*out = v;
	return 0;
}

/* 1: --help was asked for (usage printed); 0: a is complete; -1: refused. */
static int parse_args(int argc, char **argv, struct token_args *a)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },   { "context", required_argument, NULL, 'c' },
		{ "body", required_argument, NULL, 'b' },  { "ttl", required_argument, NULL, 't' },
		{ "nonce", required_argument, NULL, 'n' }, CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_line line = { .started = false };
	int o;
	*a = (struct token_args){ .ttl = TTL_DEFAULT };
	while ((o = cli_next_option(&line, argc, argv, "", opts)) != -1) {
		switch (o) {
		case 'k': a->key_path = optarg; break;
		case 'c': a->context = optarg; break;
		case 'b': a->body_path = optarg; break;
		case 'n': a->nonce = optarg; break;
		case 't':
			if (parse_ttl(optarg, &a->ttl) < 0)
				cli_refuse(&line, "--ttl: expected seconds from 1 to %u, got '%.64s'", TTL_MAX, optarg);
			break;
		}
	}
	if (line.help) {
		usage();
		cli_common_usage(stdout);
		return 1;
	}
	if (optind < argc)
		cli_refuse(&line, "unexpected operand '%s'", argv[optind]);
	if (a->key_path == NULL || a->context == NULL || a->body_path == NULL)
		cli_refuse(&line, "--key, --context and --body are required");
	if (line.refusal[0]) {
		cli_usage_error("token", "%s", line.refusal);
		return -1;
	}
	return 0;
}

/* The body's request_repr, as the intermediary derives it. */
static int body_repr(const char *path, uint8_t repr[WIRE_DIGEST_LEN])
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_errno("token: open %s", path);
		return -1;
	}
	sha256_state st;
	sha256_start(&st);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errno("token: read %s", path);
			break;
		}
		sha256_add(&st, buf, (size_t)n);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	sha256_end(&st, repr);
	return n < 0 ? -1 : 0;
}

int token_cmd(int argc, char **argv)
{
	struct token_args a;
	int parsed = parse_args(argc, argv, &a);
	if (parsed != 0)
		return parsed > 0 ? 0 : EX_USAGE_STATUS;
	if (sodium_init() < 0) {
		log_error("token: libsodium failed to initialise");
		return 1;
	}
	uint8_t key[TOKEN_KEY_LEN], repr[WIRE_DIGEST_LEN];
	char err[512], nonce[2 * NONCE_RANDOM_BYTES + 1], token[TOKEN_HEADER_MAX + 1];
	if (keys_load_secret_hex(a.key_path, key, sizeof(key), err, sizeof(err)) < 0) {
		log_error("token: %s", err);
		return 1;
	}
	int rc = 1;
	if (a.nonce == NULL) {
		uint8_t raw[NONCE_RANDOM_BYTES];
		randombytes_buf(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), nonce);
		a.nonce = nonce;
	}
	if (body_repr(a.body_path, repr) == 0) {
		uint64_t expiry = (uint64_t)time(NULL) + a.ttl;
		if (token_mint(key, repr, a.context, a.nonce, expiry, token, sizeof(token)) == 0)
			log_error("token: cannot make a token: the context must be UTF-8 of at most %d bytes and the "
				  "nonce 1 to %d printable ASCII characters other than '|'",
				  WIRE_CONTEXT_MAX, TOKEN_NONCE_MAX);
		else if (printf("%s\n", token) < 0 || fflush(stdout) != 0)
			log_errno("token: write stdout");
		else
			rc = 0;
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}
