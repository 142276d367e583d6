/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run token` and `mpbs-run keygen --token`: the operator's side of
 * provider tokens. The token itself is made by lib/token.c, the same code
 * the provider checks it with. */
#include "token_cmd.h"
#include "../lib/sha256.h"

#include <errno.h>
#include <fcntl.h>
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

#define TTL_DEFAULT 60u
#define TTL_MAX 86400u
#define NONCE_RANDOM_BYTES 16

struct token_args {
	const char *key_path, *context, *body_path, *nonce;
	uint64_t ttl;
};

static const char usage_text[] =
	"usage: mpbs-run token --key FILE --context CTX --body FILE|- [--ttl SECONDS] [--nonce N]\n";

/* "--name VALUE" or "--name=VALUE"; returns the value and advances *i. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
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

static int parse_args(int argc, char **argv, struct token_args *a)
{
	const char *ttl = NULL, *v;
	*a = (struct token_args){ .ttl = TTL_DEFAULT };
	for (int i = 1; i < argc; i++) {
		if ((v = option_value(argc, argv, &i, "--key")) != NULL)
			a->key_path = v;
		else if ((v = option_value(argc, argv, &i, "--context")) != NULL)
			a->context = v;
		else if ((v = option_value(argc, argv, &i, "--body")) != NULL)
			a->body_path = v;
		else if ((v = option_value(argc, argv, &i, "--ttl")) != NULL)
			ttl = v;
		else if ((v = option_value(argc, argv, &i, "--nonce")) != NULL)
			a->nonce = v;
		else {
			log_error("token: unexpected argument '%s'", argv[i]);
			return -1;
		}
	}
	if (a->key_path == NULL || a->context == NULL || a->body_path == NULL) {
		log_error("token: --key, --context and --body are required");
		return -1;
	}
	if (ttl != NULL && parse_ttl(ttl, &a->ttl) < 0) {
		log_error("token: --ttl: expected seconds from 1 to %u, got '%s'", TTL_MAX, ttl);
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
	if (parse_args(argc, argv, &a) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
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

int keygen_token_cmd(const char *path)
{
	if (sodium_init() < 0) {
		log_error("keygen: libsodium failed to initialise");
		return 1;
	}
	uint8_t key[TOKEN_KEY_LEN];
	char err[512];
	randombytes_buf(key, sizeof(key));
	int rc = keys_store_hex(path, key, sizeof(key), 0600, err, sizeof(err));
	sodium_memzero(key, sizeof(key));
	if (rc < 0) {
		log_error("keygen: %s", err);
		return 1;
	}
	printf("wrote %s (token key, 0600)\n", path);
	return 0;
}
