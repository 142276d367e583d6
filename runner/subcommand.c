/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "subcommand.h"

#include <string.h>

#include "cli.h"
#include "keygen_cmd.h"
#include "keys_cmd.h"
#include "ledger_cmd.h"
#include "nats_cmd.h"
#include "status_cmd.h"
#include "token_cmd.h"
#include "verify_cmd.h"

const struct subcommand subcommands[] = {
	{ "keygen", keygen_cmd, "write a provider signal key pair, or a token key" },
	{ "keys", keys_cmd, "write a topology's missing provider keys with the right owners and modes" },
	{ "token", token_cmd, "print a valid provider token for a request body" },
	{ "verify", verify_cmd, "check a ledger offline with public keys only" },
	{ "ledger", ledger_cmd, "print a ledger's records (cat), or set a version 1 ledger aside (upgrade)" },
	{ "nats-config", nats_config_cmd, "write the NATS accounts of a topology spread over hosts" },
	{ "nats-init", nats_init_cmd, "make its NATS streams and consumers (with the admin user)" },
	{ "status", status_cmd, "show a running instance's roles and counters" },
	{ "help", help_cmd, "show the usage of mpbs-run or of one subcommand" },
};
const size_t n_subcommands = sizeof(subcommands) / sizeof(subcommands[0]);

const struct subcommand *subcommand_find(const char *name)
{
	for (size_t i = 0; i < n_subcommands; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

void subcommands_summary(FILE *out)
{
	for (size_t i = 0; i < n_subcommands; i++)
		fprintf(out, "  %-11s %s\n", subcommands[i].name, subcommands[i].summary);
}

static void help_usage(void)
{
	printf("usage: mpbs-run help [SUBCOMMAND]   the usage of mpbs-run, or of SUBCOMMAND (as SUBCOMMAND --help)\n");
}

int help_cmd(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct cli_line line = { .started = false };
	while (cli_next_option(&line, argc, argv, "", opts) != -1) {
		/* --help is its only option */
	}
	if (line.help) {
		help_usage();
		cli_common_usage(stdout);
		return 0;
	}
	if (optind + 1 < argc)
		cli_refuse(&line, "unexpected operand '%s'", argv[optind + 1]);
	const struct subcommand *sub = optind < argc ? subcommand_find(argv[optind]) : NULL;
	if (optind < argc && sub == NULL) {
		char names[256] = "";
		for (size_t i = 0, n = 0; i < n_subcommands && n < sizeof(names); i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", subcommands[i].name);
		cli_refuse(&line, "unknown subcommand '%s' (one of: %s)", argv[optind], names);
	}
	if (line.refusal[0])
		return cli_usage_error("help", "%s", line.refusal);
	if (sub == NULL) {
		cli_usage(stdout);
		return 0;
	}
	char *sub_argv[] = { (char *)sub->name, "--help", NULL };
	return sub->run(2, sub_argv);
}
