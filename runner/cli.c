/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "instance_lock.h"
#include "role_table.h"
#include "topology.h"

void cli_usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run [options] TOPOLOGY        run the roles of TOPOLOGY (as root)\n"
		"       mpbs-run -t [--set K=V]... TOPOLOGY check TOPOLOGY and exit (78 if it is bad)\n"
		"       mpbs-run keygen DIR                 write a provider signal key pair into DIR\n"
		"       mpbs-run keygen --token FILE        write a provider token key (32 random bytes, hex)\n"
		"       mpbs-run token --key FILE --context CTX --body FILE [--ttl SECONDS]\n"
		"                                           print a valid provider token for that body\n"
		"       mpbs-run verify LEDGER --topology FILE [--set K=V]... | --public-keys DIR\n"
		"                       [--association-key FILE] [--expect-head SEQ:HASH]...\n"
		"                                           check a ledger offline with public keys only\n"
		"       mpbs-run --audit [--json FILE] [--junit FILE] [--threshold N] TOPOLOGY\n"
		"                                           prove the isolation claims from inside the sandboxes\n"
		"                                           (--audit-weaken LAYER:ROLE, tests only; LAYER one of\n"
		"                                            %s)\n"
		"                                           (--audit-policy-dir DIR: seccomp policies from DIR, tests only)\n"
		"       mpbs-run --print-policy ROLE [--oci] show a role's compiled seccomp policy\n"
		"                                           (ROLE: %s)\n"
		"       mpbs-run --print-keys               every topology key: section, value, default, meaning\n"
		"options:\n"
		"  --set SECTION.KEY=VALUE     override a topology value (provider.NAME.KEY=VALUE)\n"
		"  --ready-fd N                write READY=1 on fd N (3 or more, open for writing) once every role runs\n"
		"  --drain-timeout MS          how long each stop phase may take (1 to %u, default 10000)\n"
		"  -v, --verbose               a line per operation too (-vv: debugging); -q, --quiet: errors only\n"
		"  --log-format text|json      text: RFC 3339 time, who, level (under journald: journal fields);\n"
		"                              json: one object a line\n"
		"exit status: 0 clean stop; 1 a failure; 2 a bad command line; %d another running instance\n"
		"holds the ledger or an overlapping uid range; 78 a bad topology\n",
		audit_weaken_words(), role_policy_names(), CLI_DRAIN_MS_MAX, EX_INSTANCE_BUSY);
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
	       OPT_THRESHOLD, OPT_WEAKEN, OPT_POLICY_DIR, OPT_PRINT_KEYS, OPT_LOG_FORMAT };
	static const struct option opts[] = {
		{ "set", required_argument, NULL, OPT_SET },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "print-policy", required_argument, NULL, OPT_PRINT_POLICY },
		{ "print-keys", no_argument, NULL, OPT_PRINT_KEYS },
		{ "oci", no_argument, NULL, OPT_OCI },
		{ "audit", no_argument, NULL, OPT_AUDIT },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "audit-weaken", required_argument, NULL, OPT_WEAKEN },
		{ "audit-policy-dir", required_argument, NULL, OPT_POLICY_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	*c = (struct cli){ .run = { .ready_fd = -1, .drain_ms = 10000 }, .audit_opts = { .threshold = -1 } };
	err[0] = '\0';
	optind = 0; /* glibc: start afresh (a test parses more than one argv) */
	int o, rc = 0, verbose = 0;
	bool quiet = false;
	while (rc == 0 && (o = getopt_long(argc, argv, "+thvq", opts, NULL)) != -1) {
		switch (o) {
		case 't': c->check_only = true; break;
		case 'h': cli_usage(stdout); return CLI_HELP;
		case OPT_SET:
			if (c->n_overrides == CLI_OVERRIDES_MAX) {
				snprintf(err, errlen, "too many --set options");
				return CLI_REFUSED;
			}
			c->overrides[c->n_overrides++] = optarg;
			break;
		case OPT_READY_FD: rc = parse_ready_fd(optarg, c, err, errlen); break;
		case OPT_DRAIN: rc = parse_drain(optarg, c, err, errlen); break;
		case OPT_PRINT_POLICY: c->print_policy = optarg; break;
		case OPT_PRINT_KEYS: c->print_keys = true; break;
		case OPT_OCI: c->oci = true; break;
		case OPT_AUDIT: c->audit = true; break;
		case OPT_JSON: c->audit_opts.json_path = optarg; break;
		case OPT_JUNIT: c->audit_opts.junit_path = optarg; break;
		case OPT_THRESHOLD: rc = parse_threshold(optarg, c, err, errlen); break;
		case OPT_POLICY_DIR: c->audit_opts.policy_dir = optarg; break;
		case OPT_WEAKEN: rc = add_weakening(&c->audit_opts, optarg, err, errlen); break;
		case 'v': verbose++; break;
		case 'q': quiet = true; break;
		case OPT_LOG_FORMAT:
			if (log_set_format(optarg) < 0) {
				snprintf(err, errlen, "--log-format: expected text or json, got '%.64s'", optarg);
				rc = -1;
			}
			break;
		default: cli_usage(stderr); return CLI_REFUSED; /* getopt said what it refused */
		}
	}
	if (rc == 0 && quiet && verbose) {
		snprintf(err, errlen, "-q and -v: choose one");
		rc = -1;
	}
	if (rc == 0)
		log_set_level(quiet ? LOG_LEVEL_QUIET : LOG_LEVEL_DEFAULT + verbose);
	return rc == 0 ? CLI_OK : CLI_REFUSED;
}
