/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-run's options: parsed and checked before anything starts, so a bad
 * value leaves nothing half-started (main.c runs what they ask for). */
#ifndef MPBS_CLI_H
#define MPBS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "audit/audit.h"
#include "supervise.h"

#define CLI_OVERRIDES_MAX 128
#define CLI_DRAIN_MS_MAX 3600000u /* an hour per stop phase */

struct cli {
	bool check_only;
	bool oci;
	const char *print_policy;
	bool print_keys;
	char *overrides[CLI_OVERRIDES_MAX];
	size_t n_overrides;
	struct run_options run;
	bool audit;
	struct audit_options audit_opts;
};

enum cli_result {
	CLI_OK = 0,
	CLI_HELP = 1,     /* -h/--help: usage was printed on stdout */
	CLI_REFUSED = -1, /* err names the option and its value; exit 2 */
};

/* The usage text (also on a refused option). */
void cli_usage(FILE *out);

/* Exit status of a bad command line (every subcommand). */
#define EX_USAGE_STATUS 2

/* Refuses a command line the way every subcommand does: one line on stderr
 * naming what was wrong ("mpbs-run verify: unrecognized option '--x'"),
 * then "try 'mpbs-run[ SUB] --help'". sub is NULL for the main command.
 * Returns EX_USAGE_STATUS. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What getopt_long (run with opterr = 0 and an optstring that starts with
 * ':') objects to, in words, for cli_usage_error: c is what it returned
 * ('?' an unknown option, ':' a missing argument), read right after it. */
void cli_getopt_problem(char *const argv[], int c, char *out, size_t len);

/* Fills c with the defaults, then parses argv with getopt_long (from
 * argv[1]; optind tells where the operands start). Every number is
 * checked: --drain-timeout an integer from 1 to CLI_DRAIN_MS_MAX,
 * --ready-fd an integer >= 3 naming an fd open for writing (0 to 2 are the
 * supervisor's own stdio, which it would close after READY=1),
 * --threshold a finite number >= 0. */
enum cli_result cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);

#endif
