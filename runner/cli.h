/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-run's options: parsed and checked before anything starts, so a bad
 * value leaves nothing half-started (main.c runs what they ask for), and the
 * conventions every subcommand's command line follows. */
#ifndef MPBS_CLI_H
#define MPBS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "audit/audit.h"
#include "supervise.h"

#define CLI_OVERRIDES_MAX 128
#define CLI_DRAIN_MS_MAX 3600000u /* an hour per stop phase */

struct cli {
	bool check_only;
	const char *host;       /* --host NAME: run (or check) that host part of a spread topology */
	bool oci;
	const char *print_policy;
	bool print_keys;
	char *overrides[CLI_OVERRIDES_MAX];
	size_t n_overrides;
	struct run_options run;
	bool audit;
	struct audit_options audit_opts;
	int log_level;          /* lib/log.h: -q LOG_LEVEL_QUIET, else LOG_LEVEL_DEFAULT + one per -v, up to LOG_LEVEL_DEBUG */
	const char *log_format; /* --log-format: "text" or "json"; NULL when not given */
};

enum cli_result {
	CLI_OK = 0,
	CLI_HELP = 1,     /* -h/--help: usage was printed on stdout */
	CLI_VERSION = 2,  /* --version: the caller prints it */
	CLI_REFUSED = -1, /* err names the option and its value; exit 2 */
};

/* The main command's usage, with every subcommand's one-line summary. */
void cli_usage(FILE *out);

/* Exit status of a bad command line (every subcommand). */
#define EX_USAGE_STATUS 2

/* Refuses a command line the way every subcommand does: one line on stderr
 * naming what was wrong ("mpbs-run verify: unrecognized option '--x'"),
 * then "try 'mpbs-run[ SUB] --help'". sub is NULL for the main command.
 * Returns EX_USAGE_STATUS. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One command line being parsed, the way every command parses its own:
 * getopt_long in GNU order, -h/--help anywhere wins over any refusal, and
 * the first refusal is kept (it will be one line) while parsing goes on. */
struct cli_line {
	bool started;
	bool help;         /* -h or --help was given: print the usage, exit 0 */
	int verbose;       /* -v given this many times */
	bool quiet;        /* -q */
	int log_level;     /* lib/log.h's, once the options ended: -q LOG_LEVEL_QUIET, else
			    * LOG_LEVEL_DEFAULT + one per -v, up to LOG_LEVEL_DEBUG */
	const char *log_format; /* --log-format's value, NULL when not given */
	char refusal[512]; /* the first thing refused, "" while none */
};

/* The options every command takes, at the end of each one's option table:
 * -h/--help, and the global -v/--verbose (repeatable), -q/--quiet and
 * --log-format=text|json. cli_next_option answers them itself: the format
 * takes effect at once, the level when the options end. */
#define CLI_OPT_LOG_FORMAT 1000 /* above any command's own option values */
#define CLI_COMMON_OPTIONS                                                                              \
	{ "help", no_argument, NULL, 'h' }, { "verbose", no_argument, NULL, 'v' },                        \
		{ "quiet", no_argument, NULL, 'q' }, { "log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT }

/* The line every subcommand's usage ends with: the general options. */
void cli_common_usage(FILE *out);

/* Whether word is one of the global options (what may stand before a
 * subcommand: "mpbs-run -v status"); *takes_value tells whether the next
 * word is its value ("--log-format json"). */
bool cli_is_global_option(const char *word, bool *takes_value);
/* The next option that is the caller's to handle, or -1 when none is left
 * (optind is then at the first operand, argv permuted so that operands come
 * last). Answers -h/--help and getopt's own refusals (an unknown option, a
 * missing value) itself. shorts: the caller's short options, getopt-style. */
int cli_next_option(struct cli_line *l, int argc, char **argv, const char *shorts, const struct option *opts);
/* The long name of the option whose value is val in opts ("" if none). */
const char *cli_option_name(const struct option *opts, int val);
/* Keeps the refusal unless one is kept already. */
void cli_refuse(struct cli_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills c with the defaults, then parses argv with getopt_long in GNU
 * order (options and operands mixed; "--" ends the options): optind tells
 * where the operands start, argv being permuted so they come last. Every
 * number is checked: --drain-timeout an integer from 1 to
 * CLI_DRAIN_MS_MAX, --ready-fd an integer >= 3 naming an fd open for
 * writing (0 to 2 are the supervisor's own stdio, which it would close
 * after READY=1), --threshold a finite number >= 0. --help anywhere wins
 * over any refusal, then --version. */
enum cli_result cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);

#endif
