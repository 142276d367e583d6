/* A provider's private policy file: parsing, errors with lines, matching. */
#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../roles/provider_policy.h"

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
	const char *src = getenv("MPBS_SRCDIR");
	const char *names[] = { "A", "B", "C" };
	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/contrib/topologies/reference/%s.policy", src ? src : "/work/main",
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
