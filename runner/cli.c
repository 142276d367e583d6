/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "instance_lock.h"
#include "role_table.h"
#include "subcommand.h"
#include "topology.h"
#include "topology_values.h"

void cli_usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run [OPTIONS] TOPOLOGY            run the roles of TOPOLOGY (as root)\n"
		"       mpbs-run --host NAME [OPTIONS] TOPOLOGY  run one host part of a topology spread over hosts\n"
		"       mpbs-run -t|--check [--host NAME] [--set K=V]... TOPOLOGY\n"
		"                                              check TOPOLOGY and exit (78 if it is bad)\n"
		"       mpbs-run --audit [--json FILE] [--junit FILE] [--threshold N] TOPOLOGY\n"
		"                                              prove the isolation claims from inside the sandboxes\n"
		"       mpbs-run --print-policy ROLE [--oci]   show a role's compiled seccomp policy\n"
		"                                              (ROLE: %s)\n"
		"       mpbs-run --print-keys                  every topology key: section, value, default, meaning\n"
		"       mpbs-run --version | --help\n"
		"       mpbs-run SUBCOMMAND [ARGS]...          (mpbs-run help SUBCOMMAND: its usage)\n"
		"subcommands:\n",
		role_policy_names());
	subcommands_summary(out);
	fprintf(out,
		"run options:\n"
		"  --set SECTION.KEY=VALUE  override a topology value (provider.NAME.KEY=VALUE); also with -t\n"
		"  --ready-fd N             write READY=1 on fd N (3 or more, open for writing) once every role runs\n"
		"  --drain-timeout MS       how long each stop phase may take (1 to %u, default 10000)\n"
		"  --rootless               run (or --audit) as a normal user: every role maps to your one host uid;\n"
		"                           no append-only ledger flag, no cgroup limits (docs/CLAIMS.md)\n"
		"audit options, for tests only:\n"
		"  --audit-weaken LAYER:ROLE  weaken one layer of one role (LAYER: %s)\n"
		"  --audit-policy-dir DIR     seccomp policies from DIR\n"
		"global options:\n"
		"  -v, --verbose            more detail (twice: debug)\n"
		"  -q, --quiet              errors only\n"
		"  --log-format=text|json   how log lines are written\n"
		"  -h, --help               this text;  --version: the version\n"
		"Options and operands may come in any order; \"--\" ends the options.\n"
		"exit status: 0 clean stop; 1 a failure; 2 a bad command line; %d another running instance\n"
		"holds the ledger or an overlapping uid range; 78 a configuration error (topology, policies, keys)\n",
		CLI_DRAIN_MS_MAX, audit_weaken_words(), EX_INSTANCE_BUSY);
}

int cli_usage_error(const char *sub, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mpbs-run%s%s: %s\ntry 'mpbs-run%s%s --help'\n", sub ? " " : "", sub ? sub : "", msg,
		sub ? " " : "", sub ? sub : "");
	return EX_USAGE_STATUS;
}

const char *cli_option_name(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return "";
}

void cli_refuse(struct cli_line *l, const char *fmt, ...)
{
	if (l->refusal[0] != '\0')
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->refusal, sizeof(l->refusal), fmt, ap);
	va_end(ap);
}

/* What getopt_long returned '?' or ':' for. glibc leaves optind past the
 * element it refused; optopt is the short option's letter, a long option's
 * value when it was given "=VALUE" it takes none, or 0 when unknown. */
static void refuse_getopt(struct cli_line *l, int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool long_opt = strncmp(arg, "--", 2) == 0;
	if (opt == ':')
		cli_refuse(l, "option '%s' requires a value", arg);
	else if (!long_opt)
		cli_refuse(l, "unrecognized option '-%c'", optopt);
	else if (optopt != 0)
		cli_refuse(l, "option '%.*s' takes no value", (int)strcspn(arg, "="), arg);
	else
		cli_refuse(l, "unrecognized option '%s'", arg);
}

void cli_common_usage(FILE *out)
{
	fprintf(out, "general options, before or after the subcommand: -v, --verbose; -q, --quiet;\n"
		     "  --log-format=text|json; -h, --help (as for mpbs-run: mpbs-run --help)\n");
}

bool cli_is_global_option(const char *word, bool *takes_value)
{
	*takes_value = strcmp(word, "--log-format") == 0;
	if (*takes_value || strcmp(word, "--verbose") == 0 || strcmp(word, "--quiet") == 0 ||
	    strncmp(word, "--log-format=", 13) == 0)
		return true;
	return word[0] == '-' && word[1] != '\0' && word[strspn(word + 1, "vq") + 1] == '\0';
}

/* The global options' level, once every option was read. */
static void end_of_options(struct cli_line *l)
{
	if (l->quiet && l->verbose)
		cli_refuse(l, "-q and -v: choose one");
	l->log_level = l->quiet ? LOG_LEVEL_QUIET
				: (l->verbose >= LOG_LEVEL_DEBUG - LOG_LEVEL_DEFAULT ? LOG_LEVEL_DEBUG
										     : LOG_LEVEL_DEFAULT + l->verbose);
	log_set_level(l->log_level);
}

int cli_next_option(struct cli_line *l, int argc, char **argv, const char *shorts, const struct option *opts)
{
	char optstring[32];
	/* ':' first: a missing value is told apart from an unknown option */
	snprintf(optstring, sizeof(optstring), ":hvq%s", shorts);
	if (!l->started) {
		l->started = true;
		optind = 0; /* glibc: start afresh (a test parses more than one argv) */
		opterr = 0; /* refusals are reported once, by the caller */
	}
	for (;;) {
		int o = getopt_long(argc, argv, optstring, opts, NULL);
		if (o == 'h')
			l->help = true;
		else if (o == 'v')
			l->verbose++;
		else if (o == 'q')
			l->quiet = true;
		else if (o == CLI_OPT_LOG_FORMAT && log_set_format(optarg) < 0) /* in effect at once */
			cli_refuse(l, "--log-format: expected text or json, got '%.64s'", optarg);
		else if (o == CLI_OPT_LOG_FORMAT)
			l->log_format = optarg;
		else if (o == '?' || o == ':')
			refuse_getopt(l, o, argv);
		else if (o == -1)
			return end_of_options(l), -1;
		else
			return o;
	}
}

static int parse_drain(const char *v, struct cli *c, char *err, size_t errlen)
{
	uint64_t n;
	char msg[160];
	if (topology_parse_uint(v, 1, CLI_DRAIN_MS_MAX, &n, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "--drain-timeout: %s", msg);
		return -1;
	}
	c->run.drain_ms = (unsigned)n;
	return 0;
}

static int parse_ready_fd(const char *v, struct cli *c, char *err, size_t errlen)
{
	uint64_t n;
	char msg[160];
	if (topology_parse_uint(v, 3, INT_MAX, &n, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "--ready-fd: %s", msg);
		return -1;
	}
	int flags = fcntl((int)n, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
		snprintf(err, errlen, "--ready-fd: fd %d is %s", (int)n,
			 flags < 0 ? "not open" : "open for reading only");
		return -1;
	}
	c->run.ready_fd = (int)n;
	return 0;
}

/* A plain decimal number: strtod alone would also take leading blanks,
 * "inf", "nan" and hex. */
static int parse_threshold(const char *v, struct cli *c, char *err, size_t errlen)
{
	char *end = (char *)v;
	errno = 0;
	double d = (isdigit((unsigned char)v[0]) && strpbrk(v, "xX") == NULL) ? strtod(v, &end) : -1;
	if (d < 0 || errno == ERANGE || *end != '\0' || !isfinite(d)) {
		snprintf(err, errlen, "--threshold: expected a number of 0 or more, got '%.64s'", v);
		return -1;
	}
	c->audit_opts.threshold = d;
	return 0;
}

static int add_weakening(struct audit_options *o, const char *spec, char *err, size_t errlen)
{
	if (o->n_weaken == AUDIT_WEAKEN_MAX) {
		snprintf(err, errlen, "too many --audit-weaken options");
		return -1;
	}
	if (audit_parse_weakening(spec, &o->weaken[o->n_weaken], err, errlen) < 0)
		return -1;
	o->n_weaken++;
	return 0;
}

enum cli_result cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen)
{
	enum { OPT_SET = 256, OPT_READY_FD, OPT_DRAIN, OPT_PRINT_POLICY, OPT_OCI, OPT_AUDIT, OPT_JSON, OPT_JUNIT,
	       OPT_THRESHOLD, OPT_WEAKEN, OPT_POLICY_DIR, OPT_PRINT_KEYS, OPT_VERSION, OPT_ROOTLESS, OPT_HOST };
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 't' },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "set", required_argument, NULL, OPT_SET },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "rootless", no_argument, NULL, OPT_ROOTLESS },
		{ "print-policy", required_argument, NULL, OPT_PRINT_POLICY },
		{ "print-keys", no_argument, NULL, OPT_PRINT_KEYS },
		{ "oci", no_argument, NULL, OPT_OCI },
		{ "audit", no_argument, NULL, OPT_AUDIT },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "audit-weaken", required_argument, NULL, OPT_WEAKEN },
		{ "audit-policy-dir", required_argument, NULL, OPT_POLICY_DIR },
		{ "version", no_argument, NULL, OPT_VERSION },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	*c = (struct cli){ .run = { .ready_fd = -1, .drain_ms = 10000 }, .audit_opts = { .threshold = -1 } };
	struct cli_line line = { .started = false };
	char msg[sizeof(line.refusal)];
	bool version = false;
	int o;
	while ((o = cli_next_option(&line, argc, argv, "t", opts)) != -1) {
		int rc = 0;
		msg[0] = '\0';
		switch (o) {
		case 't': c->check_only = true; break;
		case OPT_VERSION: version = true; break;
		case OPT_HOST:
			if (!topo_host_name_valid(optarg))
				cli_refuse(&line, "--host %.64s: expected 1 to %d of A-Z a-z 0-9 _ -", optarg, TOPO_HOST_MAX);
			c->host = optarg;
			break;
		case OPT_SET:
			if (c->n_overrides == CLI_OVERRIDES_MAX)
				cli_refuse(&line, "too many --set options");
			else
				c->overrides[c->n_overrides++] = optarg;
			break;
		case OPT_READY_FD: rc = parse_ready_fd(optarg, c, msg, sizeof(msg)); break;
		case OPT_DRAIN: rc = parse_drain(optarg, c, msg, sizeof(msg)); break;
		case OPT_ROOTLESS: c->run.rootless = true; break;
		case OPT_PRINT_POLICY: c->print_policy = optarg; break;
		case OPT_PRINT_KEYS: c->print_keys = true; break;
		case OPT_OCI: c->oci = true; break;
		case OPT_AUDIT: c->audit = true; break;
		case OPT_JSON: c->audit_opts.json_path = optarg; break;
		case OPT_JUNIT: c->audit_opts.junit_path = optarg; break;
		case OPT_THRESHOLD: rc = parse_threshold(optarg, c, msg, sizeof(msg)); break;
		case OPT_POLICY_DIR: c->audit_opts.policy_dir = optarg; break;
		case OPT_WEAKEN: rc = add_weakening(&c->audit_opts, optarg, msg, sizeof(msg)); break;
		}
		if (rc < 0)
			cli_refuse(&line, "%s", msg);
	}
	c->log_level = line.log_level;
	c->log_format = line.log_format;
	if (line.help) {
		cli_usage(stdout);
		return CLI_HELP;
	}
	if (version)
		return CLI_VERSION;
	snprintf(err, errlen, "%s", line.refusal);
	return line.refusal[0] ? CLI_REFUSED : CLI_OK;
}
