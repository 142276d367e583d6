/* SPDX-License-Identifier: Apache-2.0 */
/* A provider's private policy file: parsing, errors with lines, matching. */
#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../roles/provider/policy.h"
#include "../common/harness.h"

static char scratch[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	char tpl[] = "/tmp/mpbs-policy-XXXXXX";
	cr_assert_not_null(mkdtemp(tpl));
	cr_assert_not_null(realpath(tpl, scratch));
	cr_assert_eq(chdir(scratch), 0);
}

static void teardown(void)
{
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(unit_policy, .init = setup, .fini = teardown);

static int load_text(struct provider_policy *p, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen("p.policy", "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	return provider_policy_load(p, "p.policy", err, errlen);
}

static void assert_empty(const struct provider_policy *p)
{
	cr_assert_eq(p->n_accept, 0);
	cr_assert_null(p->accept_context[0]);
	cr_assert_not(p->require_body);
}

static void expect_error(const char *text, const char *message)
{
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(load_text(&p, text, err, sizeof(err)), -1, "accepted:\n%s", text);
	cr_assert_str_eq(err, message, "for:\n%s", text);
	assert_empty(&p);
}

Test(unit_policy, top_level_keys)
{
	struct provider_policy p;
	char err[512] = "";
	int rc = load_text(&p, "; mine\naccept_context = CTX_ALPHA  CTX_BETA\treceive_body\nreceive_body = yes\n", err,
			   sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(p.n_accept, 3);
	cr_assert_str_eq(p.accept_context[0], "CTX_ALPHA");
	cr_assert_str_eq(p.accept_context[1], "CTX_BETA");
	cr_assert_str_eq(p.accept_context[2], "receive_body");
	cr_assert(p.require_body);
	provider_policy_free(&p);
	assert_empty(&p);
}

Test(unit_policy, policy_section_and_defaults)
{
	struct provider_policy p;
	char err[512] = "";
	int rc = load_text(&p, "[policy]\n  accept_context = X ; trailing comment\n", err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(p.n_accept, 1);
	cr_assert_str_eq(p.accept_context[0], "X");
	cr_assert_not(p.require_body);
	provider_policy_free(&p);
}

Test(unit_policy, reference_policies_parse)
{
	const char *names[] = { "A", "B", "C" };
	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/contrib/topologies/reference/%s.policy", mpbs_srcdir(),
			 names[i]);
		struct provider_policy p;
		char err[512] = "";
		cr_assert_eq(provider_policy_load(&p, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(p.n_accept, 1);
		cr_assert_str_eq(p.accept_context[0], "CTX_ALPHA");
		cr_assert(p.require_body);
		provider_policy_free(&p);
	}
}

Test(unit_policy, errors_name_file_line_and_key)
{
	expect_error("accept_context = A\ncolour = red\n", "p.policy:2: colour: unknown key");
	expect_error("accept_context = A\n\naccept_context = B\n",
		     "p.policy:3: accept_context: duplicate key (first set at line 1)");
	expect_error("accept_context = A\n[policy]\nreceive_body = no\nreceive_body = yes\n",
		     "p.policy:4: receive_body: duplicate key (first set at line 3)");
	expect_error("accept_context = A\nreceive_body = maybe\n", "p.policy:2: receive_body: expected yes or no, got 'maybe'");
	expect_error("accept_context = A\n[other]\n", "p.policy:2: [other]: unknown section (only [policy] is allowed)");
	expect_error("accept_context = A\n[policy] x\n", "p.policy:2: [policy]: unexpected text after ']'");
	expect_error("accept_context = A\nwords without equals\n",
		     "p.policy:2: syntax error: expected '[policy]', 'key = value' or a comment");
	expect_error("[policy\naccept_context = A\n", "p.policy:1: syntax error: expected '[policy]', 'key = value' or a comment");
	expect_error("receive_body = yes\naccept_context = A B A\n", "p.policy:2: accept_context: 'A' listed twice");
	expect_error("accept_context =\n", "p.policy:1: accept_context: expected 1 to 64 contexts separated by spaces");
	expect_error("receive_body = yes\n", "p.policy: accept_context: missing required key");
	expect_error("", "p.policy: accept_context: missing required key");
}

/* n single-byte contexts: a line holds at most 198 bytes. */
static void context_line(char *text, size_t cap, int n)
{
	snprintf(text, cap, "accept_context =");
	char c = '!';
	for (int i = 0; i < n; i++, c++) {
		if (c == ';') /* after a space it would start a comment */
			c++;
		snprintf(text + strlen(text), cap - strlen(text), " %c", c);
	}
	snprintf(text + strlen(text), cap - strlen(text), "\n");
}

Test(unit_policy, too_many_contexts)
{
	char text[256];
	context_line(text, sizeof(text), POLICY_CONTEXTS_MAX + 1);
	expect_error(text, "p.policy:1: accept_context: more than 64 contexts");

	context_line(text, sizeof(text), POLICY_CONTEXTS_MAX);
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(load_text(&p, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n_accept, POLICY_CONTEXTS_MAX);
	cr_assert(provider_policy_accepts_context(&p, "!", 1));
	provider_policy_free(&p);
}

Test(unit_policy, unreadable_and_overlong)
{
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(provider_policy_load(&p, "missing.policy", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "open missing.policy: No such file or directory");
	char text[400];
	snprintf(text, sizeof(text), "accept_context = A\nreceive_body = %0300d\n", 1);
	expect_error(text, "p.policy:2: line longer than 198 bytes");
}

Test(unit_policy, accepts_context_exactly)
{
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(load_text(&p, "accept_context = CTX_ALPHA CTX_BETA\n", err, sizeof(err)), 0, "%s", err);
	cr_assert(provider_policy_accepts_context(&p, "CTX_ALPHA", 9));
	cr_assert(provider_policy_accepts_context(&p, "CTX_BETA", 8));
	cr_assert_not(provider_policy_accepts_context(&p, "CTX_ALPH", 8), "a prefix must not match");
	cr_assert_not(provider_policy_accepts_context(&p, "CTX_ALPHA_X", 11), "a longer context must not match");
	cr_assert_not(provider_policy_accepts_context(&p, "ctx_alpha", 9), "matching is case-sensitive");
	/* Length-aware: the bytes past len are not part of the context. */
	cr_assert(provider_policy_accepts_context(&p, "CTX_ALPHA\0junk", 9));
	cr_assert(provider_policy_accepts_context(&p, "CTX_ALPHAjunk", 9));
	cr_assert_not(provider_policy_accepts_context(&p, "CTX_ALPHA\0", 10), "an embedded NUL is part of the context");
	cr_assert_not(provider_policy_accepts_context(&p, "", 0));
	cr_assert_not(provider_policy_accepts_context(&p, NULL, 0));
	provider_policy_free(&p);
	cr_assert_not(provider_policy_accepts_context(&p, "CTX_ALPHA", 9), "a freed policy accepts nothing");
}

/* ---- tokens, evaluator, action ------------------------------------------ */

#define TOKEN_KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0600), 0, "chmod %s", path); /* secret keys must be 0600 */
}

static void assert_key_bytes(const struct provider_policy *p)
{
	cr_assert(p->has_token_key);
	for (int i = 0; i < POLICY_TOKEN_KEY_LEN; i++)
		cr_assert_eq(p->token_key[i], i, "byte %d", i);
}

Test(unit_policy, issue4_defaults)
{
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(load_text(&p, "accept_context = A\n", err, sizeof(err)), 0, "%s", err);
	cr_assert_not(p.require_token);
	cr_assert_not(p.has_token_key);
	cr_assert_null(p.token_key_path);
	cr_assert_eq(p.max_token_ttl, 300);
	cr_assert_eq(p.replay_window, 300, "replay_window defaults to max_token_ttl");
	cr_assert_eq(p.replay_cache_max, 65536);
	cr_assert_eq(p.evaluator.argc, 0);
	cr_assert_null(p.evaluator.argv[0]);
	cr_assert_eq(p.evaluator_timeout_ms, 1000);
	cr_assert_eq(p.action, POLICY_ACTION_NONE);
	cr_assert_eq(p.action_exec.argc, 0);
	cr_assert_eq(p.action_timeout_ms, 10000);
	cr_assert_eq(p.max_concurrent, 4);
	cr_assert_eq(p.log_cap, 4096);
	cr_assert_not(provider_policy_needs_exec(&p));
	provider_policy_free(&p);

	cr_assert_eq(load_text(&p, "accept_context = A\nmax_token_ttl = 60\n", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.max_token_ttl, 60);
	cr_assert_eq(p.replay_window, 60, "replay_window follows max_token_ttl");
	provider_policy_free(&p);
}

Test(unit_policy, issue4_every_key)
{
	write_file("tok.key", TOKEN_KEY_HEX "\n");
	struct provider_policy p;
	char err[512] = "";
	int rc = load_text(&p,
			   "[policy]\naccept_context = A\nrequire_token = yes\ntoken_key = tok.key\nmax_token_ttl = 120\n"
			   "replay_window = 600\nreplay_cache_max = 16\nevaluator = /bin/true  one\ttwo\n"
			   "evaluator_timeout = 60000\naction = exec /bin/cat -u\naction_timeout = 1\n"
			   "max_concurrent = 256\nlog_cap = 0\n",
			   err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(p.require_token);
	assert_key_bytes(&p);
	cr_assert_str_eq(p.token_key_path, "tok.key", "relative to the policy's directory (here the cwd)");
	cr_assert_eq(p.max_token_ttl, 120);
	cr_assert_eq(p.replay_window, 600);
	cr_assert_eq(p.replay_cache_max, 16);
	cr_assert_eq(p.evaluator.argc, 3);
	cr_assert_str_eq(p.evaluator.argv[0], "/bin/true");
	cr_assert_str_eq(p.evaluator.argv[1], "one");
	cr_assert_str_eq(p.evaluator.argv[2], "two");
	cr_assert_null(p.evaluator.argv[3]);
	cr_assert_eq(p.evaluator_timeout_ms, 60000);
	cr_assert_eq(p.action, POLICY_ACTION_EXEC);
	cr_assert_eq(p.action_exec.argc, 2);
	cr_assert_str_eq(p.action_exec.argv[0], "/bin/cat");
	cr_assert_str_eq(p.action_exec.argv[1], "-u");
	cr_assert_null(p.action_exec.argv[2]);
	cr_assert_eq(p.action_timeout_ms, 1);
	cr_assert_eq(p.max_concurrent, 256);
	cr_assert_eq(p.log_cap, 0);
	cr_assert(provider_policy_needs_exec(&p));
	provider_policy_free(&p);
	cr_assert_eq(p.token_key[0] | p.token_key[1] | p.token_key[31], 0, "the key is wiped");
	cr_assert_null(p.token_key_path);
}

Test(unit_policy, issue4_token_key_lookup)
{
	cr_assert_eq(mkdir("keys", 0700), 0);
	cr_assert_eq(mkdir("pol", 0700), 0);
	write_file("keys/token.key", TOKEN_KEY_HEX "\n");
	write_file("pol/token.key", "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	write_file("pol/a.policy", "accept_context = A\nrequire_token = yes\ntoken_key = token.key\n");
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(provider_policy_load_in(&p, "pol/a.policy", "keys", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.token_key_path, "keys/token.key", "keys_dir wins over the policy's directory");
	assert_key_bytes(&p);
	provider_policy_free(&p);

	cr_assert_eq(provider_policy_load_in(&p, "pol/a.policy", "keys/", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.token_key_path, "keys/token.key");
	provider_policy_free(&p);

	cr_assert_eq(provider_policy_load(&p, "pol/a.policy", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.token_key_path, "pol/token.key", "without keys_dir: the policy's directory");
	cr_assert_eq(p.token_key[0], 0xff);
	provider_policy_free(&p);

	char abs[PATH_MAX + 32];
	snprintf(abs, sizeof(abs), "%s/pol/a.policy", scratch);
	cr_assert_eq(provider_policy_load(&p, abs, err, sizeof(err)), 0, "%s", err);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/pol/token.key", scratch);
	cr_assert_str_eq(p.token_key_path, want);
	provider_policy_free(&p);
}

Test(unit_policy, issue4_token_errors)
{
	write_file("short.key", "abcd\n");
	write_file("tok.key", TOKEN_KEY_HEX "\n");
	expect_error("accept_context = A\nrequire_token = yes\n", "p.policy: token_key: required when require_token = yes");
	expect_error("accept_context = A\nrequire_token = maybe\n",
		     "p.policy:2: require_token: expected yes or no, got 'maybe'");
	expect_error("accept_context = A\ntoken_key = /etc/tok.key\n",
		     "p.policy:2: token_key: expected a file name in the provider's key directory (no '/'), got "
		     "'/etc/tok.key'");
	expect_error("accept_context = A\ntoken_key = ../tok.key\n",
		     "p.policy:2: token_key: expected a file name in the provider's key directory (no '/'), got "
		     "'../tok.key'");
	expect_error("accept_context = A\ntoken_key = ..\n",
		     "p.policy:2: token_key: expected a file name in the provider's key directory (no '/'), got '..'");
	expect_error("accept_context = A\n\ntoken_key = none.key\n",
		     "p.policy:3: token_key: open none.key: No such file or directory");
	expect_error("accept_context = A\ntoken_key = short.key\n", "p.policy:2: token_key: short.key:1: expected 64 hex digits");
	expect_error("accept_context = A\ntoken_key = tok.key\ntoken_key = tok.key\n",
		     "p.policy:3: token_key: duplicate key (first set at line 2)");
}

Test(unit_policy, issue4_number_ranges)
{
	static const struct {
		const char *line, *message;
	} cases[] = {
		{ "max_token_ttl = 0", "max_token_ttl: expected an integer from 1 to 86400, got '0'" },
		{ "max_token_ttl = 86401", "max_token_ttl: expected an integer from 1 to 86400, got '86401'" },
		{ "max_token_ttl = -1", "max_token_ttl: expected an integer from 1 to 86400, got '-1'" },
		{ "max_token_ttl = 1.5", "max_token_ttl: expected an integer from 1 to 86400, got '1.5'" },
		{ "max_token_ttl = 99999999999", "max_token_ttl: expected an integer from 1 to 86400, got '99999999999'" },
		{ "max_token_ttl =", "max_token_ttl: expected an integer from 1 to 86400, got ''" },
		{ "replay_window = 0", "replay_window: expected an integer from 1 to 86400, got '0'" },
		{ "replay_cache_max = 15", "replay_cache_max: expected an integer from 16 to 16777216, got '15'" },
		{ "replay_cache_max = 16777217",
		  "replay_cache_max: expected an integer from 16 to 16777216, got '16777217'" },
		{ "evaluator_timeout = 60001", "evaluator_timeout: expected an integer from 1 to 60000, got '60001'" },
		{ "action_timeout = 0", "action_timeout: expected an integer from 1 to 3600000, got '0'" },
		{ "max_concurrent = 257", "max_concurrent: expected an integer from 1 to 256, got '257'" },
		{ "max_concurrent = 0x10", "max_concurrent: expected an integer from 1 to 256, got '0x10'" },
		{ "log_cap = 1048577", "log_cap: expected an integer from 0 to 1048576, got '1048577'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256], want[256];
		snprintf(text, sizeof(text), "accept_context = A\n%s\n", cases[i].line);
		snprintf(want, sizeof(want), "p.policy:2: %s", cases[i].message);
		expect_error(text, want);
	}
}

Test(unit_policy, issue4_program_errors)
{
	expect_error("accept_context = A\nevaluator = bin/true\n",
		     "p.policy:2: evaluator: expected an absolute path to a program, got 'bin/true'");
	expect_error("accept_context = A\nevaluator =\n",
		     "p.policy:2: evaluator: expected an absolute path to a program, got ''");
	expect_error("accept_context = A\nevaluator = /nonexistent/eval\n",
		     "p.policy:2: evaluator: /nonexistent/eval: No such file or directory");
	expect_error("accept_context = A\nevaluator = /etc/passwd\n",
		     "p.policy:2: evaluator: /etc/passwd: not an executable regular file");
	expect_error("accept_context = A\nevaluator = /bin\n", "p.policy:2: evaluator: /bin: not an executable regular file");
	expect_error("accept_context = A\nevaluator = /bin/true 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
		     "p.policy:2: evaluator: more than 16 arguments");
	expect_error("accept_context = A\naction = run /bin/true\n",
		     "p.policy:2: action: expected 'none' or 'exec /path/to/program [args]', got 'run /bin/true'");
	expect_error("accept_context = A\naction = exec\n",
		     "p.policy:2: action: expected 'none' or 'exec /path/to/program [args]', got 'exec'");
	expect_error("accept_context = A\naction = execute /bin/true\n",
		     "p.policy:2: action: expected 'none' or 'exec /path/to/program [args]', got 'execute /bin/true'");
	expect_error("accept_context = A\naction = exec cat\n",
		     "p.policy:2: action: expected an absolute path to a program, got 'cat'");

	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(load_text(&p, "accept_context = A\nevaluator = /bin/true 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
			       err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(p.evaluator.argc, 17, "16 arguments are allowed");
	cr_assert_null(p.evaluator.argv[17]);
	cr_assert(provider_policy_needs_exec(&p), "an evaluator needs execve");
	provider_policy_free(&p);
	cr_assert_eq(load_text(&p, "accept_context = A\naction = none\n", err, sizeof(err)), 0, "%s", err);
	cr_assert_not(provider_policy_needs_exec(&p));
	provider_policy_free(&p);
}

/* p.policy read as `mpbs-run -t` reads it (the host's view), or in the
 * sandbox's view checked against a topology section. */
static int read_as(struct provider_policy *p, const char *text, const struct policy_read *how, char *err,
		   size_t errlen)
{
	write_file("p.policy", text);
	return provider_policy_read(p, "p.policy", how, err, errlen);
}

/* The same keys and values, but no key is read and no program looked up:
 * those are the sandbox's (/keys, /exec), and a secret -t does not need. */
Test(unit_policy, host_view_checks_syntax_and_values_without_keys_or_programs)
{
	static const char text[] = "accept_context = A\nrequire_token = yes\ntoken_key = token.key\n"
				   "evaluator = /exec/not-here.sh --flag\naction = exec /exec/handler.sh\n";
	const struct policy_read host = { .keys_dir = "nokeys", .host_view = true };
	struct provider_policy p;
	char err[512] = "";
	cr_assert_eq(read_as(&p, text, &host, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.token_key_path, "nokeys/token.key", "resolved where the provider will look");
	cr_assert_not(p.has_token_key, "no key was read");
	cr_assert_eq(p.token_key[0] | p.token_key[31], 0);
	cr_assert_eq(p.evaluator.argc, 2);
	cr_assert(provider_policy_needs_exec(&p));
	provider_policy_free(&p);

	/* what the provider itself would refuse of the same file */
	const struct policy_read sandbox = { .keys_dir = "nokeys" };
	cr_assert_eq(read_as(&p, text, &sandbox, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "p.policy:3: token_key: open nokeys/token.key: No such file or directory");

	/* and every syntax or value error, as in the sandbox */
	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "accept_context = A\nfrobnicate = 1\n", "p.policy:2: frobnicate: unknown key" },
		{ "[other]\naccept_context = A\n", "p.policy:1: [other]: unknown section (only [policy] is allowed)" },
		{ "accept_context = A\nrequire_token = yes\n", "p.policy: token_key: required when require_token = yes" },
		{ "accept_context = A\ntoken_key = ../t.key\n",
		  "p.policy:2: token_key: expected a file name in the provider's key directory (no '/'), got '../t.key'" },
		{ "accept_context = A\nevaluator = exec/x.sh\n",
		  "p.policy:2: evaluator: expected an absolute path to a program, got 'exec/x.sh'" },
		{ "accept_context = A\nmax_concurrent = 0\n",
		  "p.policy:2: max_concurrent: expected an integer from 1 to 256, got '0'" },
		{ "receive_body = yes\n", "p.policy: accept_context: missing required key" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(read_as(&p, bad[i].text, &host, err, sizeof(err)), -1, "%s", bad[i].text);
		cr_assert_str_eq(err, bad[i].message);
	}
	struct stat st;
	cr_assert_neq(stat("nokeys", &st), 0, "the host's view made nothing");
}

/* What a policy asks of its [provider NAME] section, on the asking key's
 * line, and under the name the caller gives the file. */
Test(unit_policy, what_the_policy_asks_of_the_topology_names_its_line)
{
	struct provider_policy p;
	char err[512] = "";
	struct policy_read how = { .host_view = true, .provider = "B", .shown_as = "/etc/mpbs/B.policy" };
	cr_assert_eq(read_as(&p, "accept_context = A\n\nreceive_body = yes\n", &how, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/etc/mpbs/B.policy:3: receive_body: yes, but the topology does not forward the body to "
			      "this provider (set receive_body = yes in its [provider B] section)");
	cr_assert_eq(read_as(&p, "accept_context = A\naction = exec /exec/h.sh\n", &how, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/etc/mpbs/B.policy:2: action: a program, but the topology does not let this provider run "
			      "programs (set exec = yes in its [provider B] section)");
	how.receive_body = how.exec = true;
	cr_assert_eq(read_as(&p, "accept_context = A\naction = exec /exec/h.sh\nreceive_body = yes\n", &how, err,
			     sizeof(err)),
		     0, "%s", err);
	provider_policy_free(&p);
	how.provider = NULL; /* not checked against a topology */
	how.receive_body = false;
	cr_assert_eq(read_as(&p, "accept_context = A\nreceive_body = yes\n", &how, err, sizeof(err)), 0, "%s", err);
	provider_policy_free(&p);
}
