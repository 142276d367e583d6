/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The command line's numbers (runner/cli.c): each refused value is named
 * with its option; accepted ones land where the run reads them. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../runner/cli.h"

static struct cli c;
static char err[512];

static enum cli_result parse2(const char *option, const char *value)
{
	char *argv[] = { "mpbs-run", (char *)option, (char *)value, "topology.conf", NULL };
	return cli_parse(4, argv, &c, err, sizeof(err));
}

static void refused(const char *option, const char *value, const char *message)
{
	cr_assert_eq(parse2(option, value), CLI_REFUSED, "%s '%s' accepted", option, value);
	char want[256];
	snprintf(want, sizeof(want), "%s: %s", option, message);
	cr_assert_str_eq(err, want);
}

Test(unit_cli, drain_timeout_is_an_integer_from_1_to_an_hour)
{
	static const char *const bad[] = { "0", "-1", "+5", " 5", "5 ", "10x", "", "0x10", "1e3", "4294967296",
					   "18446744073709551616", "3600001" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[128];
		snprintf(msg, sizeof(msg), "expected an integer from 1 to 3600000, got '%s'", bad[i]);
		refused("--drain-timeout", bad[i], msg);
	}
	cr_assert_eq(parse2("--drain-timeout", "1"), CLI_OK);
	cr_assert_eq(c.run.drain_ms, 1);
	cr_assert_eq(parse2("--drain-timeout", "3600000"), CLI_OK);
	cr_assert_eq(c.run.drain_ms, 3600000);
	cr_assert_eq(optind, 3, "the topology is the operand left");
}

Test(unit_cli, defaults_without_options)
{
	char *argv[] = { "mpbs-run", "topology.conf", NULL };
	cr_assert_eq(cli_parse(2, argv, &c, err, sizeof(err)), CLI_OK);
	cr_assert_eq(c.run.drain_ms, 10000);
	cr_assert_eq(c.run.ready_fd, -1);
	cr_assert(c.audit_opts.threshold < 0, "no threshold");
}

Test(unit_cli, ready_fd_is_an_open_writable_fd_from_3)
{
	refused("--ready-fd", "abc", "expected an integer from 3 to 2147483647, got 'abc'");
	refused("--ready-fd", "", "expected an integer from 3 to 2147483647, got ''");
	refused("--ready-fd", "-1", "expected an integer from 3 to 2147483647, got '-1'");
	refused("--ready-fd", "2", "expected an integer from 3 to 2147483647, got '2'");
	refused("--ready-fd", "9x", "expected an integer from 3 to 2147483647, got '9x'");
	refused("--ready-fd", "2147483648", "expected an integer from 3 to 2147483647, got '2147483648'");

	int p[2];
	cr_assert_eq(pipe(p), 0);
	char num[16];
	snprintf(num, sizeof(num), "%d", p[0]);
	char msg[64];
	snprintf(msg, sizeof(msg), "fd %d is open for reading only", p[0]);
	refused("--ready-fd", num, msg);
	snprintf(num, sizeof(num), "%d", p[1]);
	cr_assert_eq(parse2("--ready-fd", num), CLI_OK, "%s", err);
	cr_assert_eq(c.run.ready_fd, p[1]);
	close(p[1]);
	snprintf(msg, sizeof(msg), "fd %d is not open", p[1]);
	refused("--ready-fd", num, msg);
	close(p[0]);
}

Test(unit_cli, threshold_is_a_finite_number_of_0_or_more)
{
	static const char *const bad[] = { "-1", "-0.5", "", "nan", "inf", "1e999", "2.5x", " 3", "0x10", "+1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[128];
		snprintf(msg, sizeof(msg), "expected a number of 0 or more, got '%s'", bad[i]);
		refused("--threshold", bad[i], msg);
	}
	cr_assert_eq(parse2("--threshold", "0"), CLI_OK);
	cr_assert_eq(c.audit_opts.threshold, 0.0);
	cr_assert_eq(parse2("--threshold", "2.5"), CLI_OK);
	cr_assert_eq(c.audit_opts.threshold, 2.5);
}

static enum cli_result parse(char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return cli_parse(argc, argv, &c, err, sizeof(err));
}

Test(unit_cli, options_and_operands_in_any_order)
{
	char *argv[] = { "mpbs-run", "topology.conf", "-t", "--set", "a.b=c", "-vv", "--log-format=json", "--rootless",
			 NULL };
	cr_assert_eq(parse(argv), CLI_OK, "%s", err);
	cr_assert(c.check_only && c.run.rootless);
	cr_assert_eq(c.n_overrides, 1);
	cr_assert_str_eq(c.overrides[0], "a.b=c");
	cr_assert_eq(c.log_level, 3, "-vv: debug");
	cr_assert_str_eq(c.log_format, "json");
	cr_assert_eq(optind, 7, "the operand is permuted to the end");
	cr_assert_str_eq(argv[optind], "topology.conf");

	char *dashes[] = { "mpbs-run", "-t", "--", "--set", NULL };
	cr_assert_eq(parse(dashes), CLI_OK, "%s", err);
	cr_assert_eq(c.n_overrides, 0, "after -- nothing is an option");
	cr_assert_str_eq(dashes[optind], "--set");
}

Test(unit_cli, log_levels_and_formats)
{
	char *none[] = { "mpbs-run", "t.conf", NULL };
	cr_assert_eq(parse(none), CLI_OK);
	cr_assert_eq(c.log_level, LOG_LEVEL_DEFAULT);
	cr_assert_null(c.log_format);
	cr_assert(!c.run.rootless);
	char *quiet[] = { "mpbs-run", "--quiet", "t.conf", NULL };
	cr_assert_eq(parse(quiet), CLI_OK);
	cr_assert_eq(c.log_level, 0);
	char *many[] = { "mpbs-run", "-vvvv", "--verbose", "t.conf", NULL };
	cr_assert_eq(parse(many), CLI_OK);
	cr_assert_eq(c.log_level, LOG_LEVEL_DEBUG);
	char *both[] = { "mpbs-run", "-q", "t.conf", "-v", NULL };
	cr_assert_eq(parse(both), CLI_REFUSED);
	cr_assert_str_eq(err, "-q and -v: choose one");
	char *format[] = { "mpbs-run", "--log-format", "xml", "t.conf", NULL };
	cr_assert_eq(parse(format), CLI_REFUSED);
	cr_assert_str_eq(err, "--log-format: expected text or json, got 'xml'");
}

Test(unit_cli, the_first_refusal_is_kept_and_help_or_version_win_over_it)
{
	char *two[] = { "mpbs-run", "--drain-timeout", "0", "--frobnicate", "t.conf", NULL };
	cr_assert_eq(parse(two), CLI_REFUSED);
	cr_assert_str_eq(err, "--drain-timeout: expected an integer from 1 to 3600000, got '0'");
	char *unknown[] = { "mpbs-run", "t.conf", "--frobnicate", "--drain-timeout", "0", NULL };
	cr_assert_eq(parse(unknown), CLI_REFUSED);
	cr_assert_str_eq(err, "unrecognized option '--frobnicate'");
	char *missing[] = { "mpbs-run", "t.conf", "--set", NULL };
	cr_assert_eq(parse(missing), CLI_REFUSED);
	cr_assert_str_eq(err, "option '--set' requires a value");
	char *version[] = { "mpbs-run", "--frobnicate", "--version", NULL };
	cr_assert_eq(parse(version), CLI_VERSION);
	/* --help prints the usage on stdout: out of the test's output */
	cr_assert_not_null(freopen("/dev/null", "w", stdout));
	char *help[] = { "mpbs-run", "--frobnicate", "--version", "--drain-timeout", "0", "-h", NULL };
	cr_assert_eq(parse(help), CLI_HELP);
}
