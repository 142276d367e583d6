/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_completion: contrib/bash-completion/mpbs-run, sourced into a real
 * bash and called as bash calls it (COMP_WORDS, COMP_CWORD), offers what
 * the binary takes: every subcommand of the table, for the main command
 * and each subcommand exactly the long options its --help names, the
 * roles --print-policy knows, files and directories where paths go. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runner/role_table.h"
#include "../../runner/subcommand.h"
#include "../common/cmd.h"
#include "../common/harness.h"

#define WORDS_MAX 64

struct words {
	char *w[WORDS_MAX]; /* each malloc'd, no two alike */
	size_t n;
};

static char dir[] = "/tmp/mpbs-compl-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char *rm[] = { "rm", "-rf", dir, NULL };
	run_cmd(rm, NULL);
}

TestSuite(e2e_completion, .init = setup, .fini = teardown, .timeout = 60);

static bool words_has(const struct words *ws, const char *w)
{
	for (size_t i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i], w) == 0)
			return true;
	return false;
}

static void words_add(struct words *ws, const char *w, size_t len)
{
	char *copy = strndup(w, len);
	cr_assert_not_null(copy);
	if (words_has(ws, copy)) {
		free(copy);
		return;
	}
	cr_assert_lt(ws->n, WORDS_MAX, "too many words");
	ws->w[ws->n++] = copy;
}

static void words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

static void words_list(const struct words *ws, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < ws->n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s ", ws->w[i]);
}

static void assert_same_words(const struct words *got, const struct words *want, const char *what)
{
	char g[1024], w[1024];
	words_list(got, g, sizeof(g));
	words_list(want, w, sizeof(w));
	for (size_t i = 0; i < want->n; i++)
		cr_assert(words_has(got, want->w[i]), "%s: '%s' not offered (offered: %s; wanted: %s)", what,
			  want->w[i], g, w);
	for (size_t i = 0; i < got->n; i++)
		cr_assert(words_has(want, got->w[i]), "%s: '%s' offered, not wanted (offered: %s; wanted: %s)", what,
			  got->w[i], g, w);
}

/* COMPREPLY for the command line words[] (the last one is the word being
 * completed), in the test's directory, as bash calls the function. */
static void complete(struct words *ws, const char *const *words)
{
	char script[PATH_MAX];
	snprintf(script, sizeof(script), "%s/contrib/bash-completion/mpbs-run", mpbs_srcdir());
	char *argv[16] = { "bash", "--norc", "-c",
			   "source \"$0\" || exit 9; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _mpbs_run; "
			   "printf '%s\\n' \"${COMPREPLY[@]}\"",
			   script };
	size_t n = 5;
	for (size_t i = 0; words[i]; i++) {
		cr_assert_lt(n, 15);
		argv[n++] = (char *)words[i];
	}
	argv[n] = NULL;
	struct cmd_result r;
	cmd_run(&r, dir, (uid_t)-1, argv);
	cr_assert_eq(r.status, 0, "bash: %s", r.err);
	cr_assert_str_empty(r.err, "bash said: %s", r.err);
	*ws = (struct words){ .n = 0 };
	for (char *save = NULL, *w = strtok_r(r.out, "\n", &save); w; w = strtok_r(NULL, "\n", &save))
		words_add(ws, w, strlen(w));
	cmd_result_free(&r);
}

/* The words a space- or comma-separated list names. */
static void words_of(struct words *ws, const char *list)
{
	*ws = (struct words){ .n = 0 };
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ,");
		if (len)
			words_add(ws, p, len);
		p += len;
		p += strspn(p, " ,");
	}
}

Test(e2e_completion, offers_every_subcommand_of_the_table)
{
	struct words got;
	complete(&got, (const char *[]){ "mpbs-run", "", NULL });
	for (size_t i = 0; i < n_subcommands; i++)
		cr_assert(words_has(&got, subcommands[i].name), "'%s' not offered", subcommands[i].name);
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "help", "", NULL });
	for (size_t i = 0; i < n_subcommands; i++)
		cr_assert(words_has(&got, subcommands[i].name), "help: '%s' not offered", subcommands[i].name);
	words_free(&got);
}

/* The long options a --help text names, with --help itself (which every
 * command answers); the audit's test-only options are not offered. */
static void options_of_usage(const char *sub, struct words *ws)
{
	char *argv[] = { (char *)mpbs_binary(), sub ? (char *)sub : "--help", sub ? "--help" : NULL, NULL };
	struct cmd_result r;
	cmd_run(&r, dir, (uid_t)-1, argv);
	cr_assert_eq(r.status, 0, "%s --help: %s", sub ? sub : "mpbs-run", r.err);
	*ws = (struct words){ .n = 0 };
	regex_t re;
	cr_assert_eq(regcomp(&re, "--[a-z][a-z-]*", REG_EXTENDED), 0);
	regmatch_t m;
	for (const char *p = r.out; regexec(&re, p, 1, &m, 0) == 0; p += m.rm_eo) {
		words_add(ws, p + m.rm_so, (size_t)(m.rm_eo - m.rm_so));
	}
	regfree(&re);
	cmd_result_free(&r);
	words_add(ws, "--help", 6);
	for (size_t i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i], "--audit-weaken") == 0 || strcmp(ws->w[i], "--audit-policy-dir") == 0) {
			free(ws->w[i]);
			ws->w[i--] = ws->w[--ws->n];
		}
}

Test(e2e_completion, options_are_those_each_usage_names)
{
	/* each subcommand, then the main command */
	for (size_t i = 0; i <= n_subcommands; i++) {
		const char *sub = i < n_subcommands ? subcommands[i].name : NULL;
		struct words want, got;
		options_of_usage(sub, &want);
		if (sub)
			complete(&got, (const char *[]){ "mpbs-run", sub, "--", NULL });
		else
			complete(&got, (const char *[]){ "mpbs-run", "--", NULL });
		assert_same_words(&got, &want, sub ? sub : "mpbs-run");
		words_free(&got);
		words_free(&want);
	}
}

Test(e2e_completion, print_policy_offers_the_role_table_s_roles)
{
	struct words got, want;
	words_of(&want, role_policy_names());
	complete(&got, (const char *[]){ "mpbs-run", "--print-policy", "", NULL });
	assert_same_words(&got, &want, "--print-policy");
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "-t", "x.conf", "--print-policy", "prov", NULL });
	cr_assert(got.n == 2 && words_has(&got, "provider") && words_has(&got, "provider-exec"));
	words_free(&got);
	words_free(&want);
}

Test(e2e_completion, log_format_values_with_or_without_the_split_at_equals)
{
	struct words got, want;
	words_of(&want, "text json");
	complete(&got, (const char *[]){ "mpbs-run", "--log-format", "=", NULL });
	assert_same_words(&got, &want, "--log-format=");
	words_free(&got);
	words_free(&want);
	complete(&got, (const char *[]){ "mpbs-run", "--log-format", "=", "j", NULL });
	cr_assert(got.n == 1 && words_has(&got, "json"));
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "--log-format=t", NULL });
	cr_assert(got.n == 1 && words_has(&got, "--log-format=text"));
	words_free(&got);
}

Test(e2e_completion, paths_where_paths_go_and_options_after_the_topology)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/site.conf", dir);
	cr_assert_eq(write_text_file(path, "[runner]\n"), 0);
	snprintf(path, sizeof(path), "%s/keys", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	struct words got;
	complete(&got, (const char *[]){ "mpbs-run", "-t", "", NULL });
	cr_assert(got.n == 2 && words_has(&got, "site.conf") && words_has(&got, "keys"), "TOPOLOGY: files");
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "keygen", "", NULL });
	cr_assert(got.n == 1 && words_has(&got, "keys"), "keygen DIR: directories only");
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "token", "--body", "s", NULL });
	cr_assert(got.n == 1 && words_has(&got, "site.conf"), "token --body FILE");
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "site.conf", "--drain", NULL });
	cr_assert(got.n == 1 && words_has(&got, "--drain-timeout"), "an option after the topology");
	words_free(&got);
	complete(&got, (const char *[]){ "mpbs-run", "--", "--", NULL });
	cr_assert_eq(got.n, 0, "after \"--\" only operands (no file here starts with --)");
	words_free(&got);
}
