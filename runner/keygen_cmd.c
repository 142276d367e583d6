/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "keygen_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <sodium.h>

#include "../lib/keys.h"
#include "../lib/log.h"
#include "cli.h"

static void usage(void)
{
	printf("usage: mpbs-run keygen DIR           write a provider signal key pair into DIR\n"
	       "                                     (%s, secret, 0600; %s)\n"
	       "       mpbs-run keygen --token FILE  write a provider token key into FILE (32 random bytes,\n"
	       "                                     hex, 0600)\n"
	       "Neither overwrites an existing key.\n",
	       KEYS_SECRET_NAME, KEYS_PUBLIC_NAME);
}

static int keygen_signal(const char *dir)
{
	char err[512];
	if (keys_generate_signal_pair(dir, err, sizeof(err)) < 0) {
		log_error("keygen: %s", err);
		return 1;
	}
	printf("wrote %s/%s (secret, 0600) and %s/%s\n", dir, KEYS_SECRET_NAME, dir, KEYS_PUBLIC_NAME);
	return 0;
}

static int keygen_token(const char *path)
{
	char err[512];
	if (keys_generate_token(path, err, sizeof(err)) < 0) {
		log_error("keygen: %s", err);
		return 1;
	}
	printf("wrote %s (token key, 0600)\n", path);
	return 0;
}

int keygen_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, 'T' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_line line = { .started = false };
	const char *token_path = NULL;
	while (cli_next_option(&line, argc, argv, "", opts) != -1) { /* --token, its only other option */
		if (token_path)
			cli_refuse(&line, "--token given twice");
		token_path = optarg;
	}
	if (line.help) {
		usage();
		cli_common_usage(stdout);
		return 0;
	}
	int operands = argc - optind;
	if (token_path && operands > 0)
		cli_refuse(&line, "unexpected operand '%s' (--token writes one FILE)", argv[optind]);
	else if (!token_path && operands == 0)
		cli_refuse(&line, "missing DIR (or --token FILE)");
	else if (operands > 1)
		cli_refuse(&line, "unexpected operand '%s'", argv[optind + 1]);
	if (line.refusal[0])
		return cli_usage_error("keygen", "%s", line.refusal);
	if (sodium_init() < 0) {
		log_error("keygen: libsodium failed to initialise");
		return 1;
	}
	return token_path ? keygen_token(token_path) : keygen_signal(argv[optind]);
}
