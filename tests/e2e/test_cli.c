/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_cli: the command line's conventions through the real binary:
 * --version, --help (and -h, and `help SUBCOMMAND`) of the main command and
 * of every subcommand in the table, anywhere on the line, exit 0 with the
 * usage on stdout and nothing else done; an unknown option refused in one
 * line plus where --help is; options after the topology; "--". */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runner/subcommand.h"
#include "../common/cmd.h"
#include "../common/harness.h"

static char dir[] = "/tmp/mpbs-cli-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char *rm[] = { "rm", "-rf", dir, NULL };
	run_cmd(rm, NULL);
}

TestSuite(e2e_cli, .init = setup, .fini = teardown, .timeout = 60);

/* mpbs-run with args (NULL-terminated) in the empty test directory. */
static void run(struct cmd_result *r, const char *const *args)
{
	char *argv[16] = { (char *)mpbs_binary() };
	size_t n = 1;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(n, 15);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	cmd_run(r, dir, (uid_t)-1, argv);
}

static size_t entries_in(const char *path)
{
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void line_of(const char *const *args, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; args[i]; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", args[i]);
}

/* Its usage on stdout, nothing on stderr, exit 0, nothing written. Returns
 * stdout (malloc'd). */
static char *answers_help(const char *const *args)
{
	char line[256];
	line_of(args, line, sizeof(line));
	struct cmd_result r;
	run(&r, args);
	cr_assert_eq(r.status, 0, "'mpbs-run %s': exit %d: %s", line, r.status, r.err);
	cr_assert_str_empty(r.err, "'mpbs-run %s' printed on stderr: %s", line, r.err);
	cr_assert(strncmp(r.out, "usage: mpbs-run", 15) == 0, "'mpbs-run %s': no usage on stdout: %s", line, r.out);
	cr_assert_eq(entries_in(dir), 0, "'mpbs-run %s' left something in its working directory", line);
	free(r.err);
	return r.out;
}

Test(e2e_cli, version_is_the_version_file_s_or_git_describe_s)
{
	struct cmd_result r;
	run(&r, (const char *[]){ "--version", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out, "mpbs-run ", 9) == 0 && cmd_count_lines(r.out) == 1, "%s", r.out);
	char *version = r.out + 9;
	version[strcspn(version, "\n")] = '\0';

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/VERSION", mpbs_srcdir());
	char *file = read_file(path, NULL);
	cr_assert_not_null(file, "no %s", path);
	file[strcspn(file, "\n")] = '\0';
	cr_assert(file[0] >= '0' && file[0] <= '9', "VERSION holds '%s'", file);

	/* a build in a git checkout names its commit (Makefile, MPBS_VERSION) */
	snprintf(path, sizeof(path), "%s/.git", mpbs_srcdir());
	struct cmd_result git = { .status = -1 };
	char *describe[] = { "git", "-C", (char *)mpbs_srcdir(), "describe", "--always", "--match", "v[0-9]*", NULL };
	if (access(path, F_OK) == 0)
		cmd_run(&git, NULL, (uid_t)-1, describe);
	if (git.status == 0) {
		char want[256];
		git.out[strcspn(git.out, "\n")] = '\0';
		if (git.out[0] == 'v')
			snprintf(want, sizeof(want), "%s", git.out + 1);
		else
			snprintf(want, sizeof(want), "%s+g%s", file, git.out);
		/* "-dirty" says the tree had changes when it was built */
		size_t len = strlen(want);
		cr_assert(strncmp(version, want, len) == 0 && (version[len] == '\0' || strcmp(version + len, "-dirty") == 0),
			  "--version says '%s'; the build tree says '%s' (or '%s-dirty')", version, want, want);
	} else {
		cr_assert_str_eq(version, file, "--version says '%s', VERSION '%s'", version, file);
	}
	if (git.status != -1)
		cmd_result_free(&git);
	free(file);
	cmd_result_free(&r);
}

Test(e2e_cli, main_help_anywhere_on_the_line_and_help_say_the_same)
{
	char *usage = answers_help((const char *[]){ "--help", NULL });
	/* every subcommand of the table is listed */
	for (size_t i = 0; i < n_subcommands; i++) {
		char want[64];
		snprintf(want, sizeof(want), "\n  %s ", subcommands[i].name);
		cr_assert(strstr(usage, want), "--help does not list '%s'", subcommands[i].name);
	}
	const char *const *const lines[] = {
		(const char *[]){ "-h", NULL },
		(const char *[]){ "topology.conf", "--help", NULL },
		(const char *[]){ "--frobnicate", "--help", NULL },
		(const char *[]){ "--drain-timeout", "0", "-h", "--set", "x", NULL },
		(const char *[]){ "-t", "--audit", "--json", "report.json", "topology.conf", "--help", NULL },
		(const char *[]){ "help", NULL },
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *again = answers_help(lines[i]);
		cr_assert_str_eq(again, usage);
		free(again);
	}
	free(usage);
}

Test(e2e_cli, every_subcommand_answers_help_anywhere_with_no_side_effect)
{
	for (size_t i = 0; i < n_subcommands; i++) {
		const char *sub = subcommands[i].name;
		char *usage = answers_help((const char *[]){ sub, "--help", NULL });
		const char *const *const lines[] = {
			(const char *[]){ sub, "-h", NULL },
			(const char *[]){ sub, "newdir", "--help", NULL },
			(const char *[]){ sub, "--frobnicate", "--help", NULL },
			(const char *[]){ "help", sub, NULL },
		};
		for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
			char *again = answers_help(lines[k]);
			cr_assert_str_eq(again, usage, "'%s' and '%s --help' differ", lines[k][1], sub);
			free(again);
		}
		free(usage);
	}
	/* what once wrote a key pair into a directory named --help, or minted a token */
	free(answers_help((const char *[]){ "keygen", "--help", NULL }));
	free(answers_help((const char *[]){ "keygen", "--token", "token.key", "--help", NULL }));
	free(answers_help((const char *[]){ "token", "--key", "k", "--context", "C", "--body", "-", "--help", NULL }));
}

static void refused_in_one_line(const char *const *args, const char *sub, const char *message)
{
	char line[256], want[512];
	line_of(args, line, sizeof(line));
	struct cmd_result r;
	run(&r, args);
	cr_assert_eq(r.status, 2, "'mpbs-run %s': exit %d", line, r.status);
	cr_assert_str_empty(r.out, "'mpbs-run %s' printed on stdout: %s", line, r.out);
	snprintf(want, sizeof(want), "mpbs-run%s%s: %s\ntry 'mpbs-run%s%s --help'\n", sub ? " " : "", sub ? sub : "",
		 message, sub ? " " : "", sub ? sub : "");
	cr_assert_str_eq(r.err, want, "'mpbs-run %s'", line);
	cmd_result_free(&r);
}

Test(e2e_cli, an_unknown_option_is_one_line_and_where_help_is)
{
	refused_in_one_line((const char *[]){ "--frobnicate", "topology.conf", NULL }, NULL,
			    "unrecognized option '--frobnicate'");
	refused_in_one_line((const char *[]){ "topology.conf", "-Z", NULL }, NULL, "unrecognized option '-Z'");
	refused_in_one_line((const char *[]){ "--oci=yes", "--print-policy", "provider", NULL }, NULL,
			    "option '--oci' takes no value");
	for (size_t i = 0; i < n_subcommands; i++) {
		const char *sub = subcommands[i].name;
		refused_in_one_line((const char *[]){ sub, "--frobnicate", NULL }, sub,
				    "unrecognized option '--frobnicate'");
	}
	refused_in_one_line((const char *[]){ "help", "keygen", "token", NULL }, "help", "unexpected operand 'token'");
	refused_in_one_line((const char *[]){ "keygen", "a", "b", NULL }, "keygen", "unexpected operand 'b'");
	refused_in_one_line((const char *[]){ "token", "--ttl", "0", "--key", "k", "--context", "C", "--body", "-", NULL },
			    "token", "--ttl: expected seconds from 1 to 86400, got '0'");
	cr_assert_eq(entries_in(dir), 0, "a refused command line left something behind");
}

Test(e2e_cli, options_after_the_topology_and_double_dash)
{
	char ref[PATH_MAX];
	snprintf(ref, sizeof(ref), "%s/contrib/topologies/reference.conf", mpbs_srcdir());
	struct cmd_result r;
	run(&r, (const char *[]){ ref, "-t", "--set", "intermediary.listen=127.0.0.1:9", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, ": OK (3 providers)"), "%s", r.out);
	cmd_result_free(&r);
	/* the --set after the path is applied, not ignored */
	run(&r, (const char *[]){ ref, "--check", "--set", "intermediary.listen=nowhere", NULL });
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "--set intermediary.listen=nowhere: "), "%s", r.err);
	cmd_result_free(&r);
	/* after "--" an operand that looks like an option is a path */
	run(&r, (const char *[]){ "-t", "--", "--frobnicate", NULL });
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "open --frobnicate: No such file or directory"), "%s", r.err);
	cmd_result_free(&r);
}

/* -v, -q and --log-format are every command's: before a subcommand's name,
 * after it, anywhere among its words. */
Test(e2e_cli, global_options_before_and_after_a_subcommand)
{
	for (size_t i = 0; i < n_subcommands; i++) {
		const char *sub = subcommands[i].name;
		free(answers_help((const char *[]){ "-v", sub, "--help", NULL }));
		free(answers_help((const char *[]){ "--log-format", "json", sub, "-q", "--help", NULL }));
		free(answers_help((const char *[]){ sub, "--help", "-vv", "--log-format=text", NULL }));
		refused_in_one_line((const char *[]){ "-q", sub, "-v", NULL }, sub, "-q and -v: choose one");
		refused_in_one_line((const char *[]){ sub, "--log-format=xml", NULL }, sub,
				    "--log-format: expected text or json, got 'xml'");
	}
	/* a global option's value is no subcommand: "json" here, and a word after
	 * a non-global option is the topology's path ("-t status" checks a file) */
	struct cmd_result r;
	run(&r, (const char *[]){ "-t", "status", NULL });
	cr_assert_eq(r.status, 78, "%s", r.err);
	cr_assert(strstr(r.err, "open status: No such file or directory"), "%s", r.err);
	cmd_result_free(&r);
	/* --log-format json on a subcommand: its error line is one json object */
	run(&r, (const char *[]){ "--log-format", "json", "verify", "missing.jsonl", "--public-keys", ".", NULL });
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert(strncmp(r.err, "{\"ts\":", 6) == 0 && strstr(r.err, "\"level\":\"error\""), "%s", r.err);
	cmd_result_free(&r);
	cr_assert_eq(entries_in(dir), 0, "left something in its working directory");
}
