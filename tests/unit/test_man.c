/* SPDX-License-Identifier: Apache-2.0 */
/* The man pages (docs/man/NAME.scd, built by `make man` into build/man/):
 * each renders with man(1) without a warning, mpbs-topology(5) lists every
 * row of runner/topology_keys.c under its section, mpbs-provider-policy(5)
 * every row of roles/provider/policy_keys.c, and mpbs-run(8) every
 * subcommand. The pages are found in $MPBS_MAN_DIR (set by `make check`),
 * else in $MPBS_SRCDIR/build/man; a missing page fails, it is no skip. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../roles/provider/policy_keys.h"
#include "../../runner/subcommand.h"
#include "../../runner/topology_keys.h"
#include "../common/harness.h"

static const char *const pages[] = {
	"mpbs-run.8", "mpbs-topology.5", "mpbs-provider-policy.5", "mpbs-seccomp-policy.5", "mpbs-ledger.5",
};

static void page_path(const char *page, char *out, size_t len)
{
	const char *dir = getenv("MPBS_MAN_DIR");
	if (dir && *dir)
		snprintf(out, len, "%s/%s", dir, page);
	else
		snprintf(out, len, "%s/build/man/%s", mpbs_srcdir(), page);
	cr_assert(access(out, R_OK) == 0, "%s: no such page; build the pages with `make man` (`make check` does)",
		  out);
}

struct rendered {
	int status;
	char *out; /* what man wrote on stdout */
	char *err; /* and on stderr */
};

/* `man --warnings -l PAGE`, with a fixed width and locale (locale NULL:
 * C.UTF-8), no hyphenation and no justification, so a word is never split
 * or spread across lines. */
static struct rendered render_in(const char *page, const char *locale)
{
	char path[4096], out_tmpl[] = "/tmp/mpbs-man-out-XXXXXX", err_tmpl[] = "/tmp/mpbs-man-err-XXXXXX";
	page_path(page, path, sizeof(path));
	int out = mkstemp(out_tmpl), err = mkstemp(err_tmpl);
	cr_assert(out >= 0 && err >= 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		setenv("MANWIDTH", "80", 1);
		setenv("LC_ALL", locale ? locale : "C.UTF-8", 1);
		unsetenv("MANOPT");
		unsetenv("MAN_KEEP_FORMATTING");
		execlp("man", "man", "--nh", "--nj", "--warnings", "-l", path, (char *)NULL);
		_exit(127);
	}
	close(out);
	close(err);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	struct rendered r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), read_file(out_tmpl, NULL),
			      read_file(err_tmpl, NULL) };
	unlink(out_tmpl);
	unlink(err_tmpl);
	cr_assert(r.out && r.err);
	cr_assert_neq(r.status, 127, "man(1) is not installed (contrib/deps.sh installs man-db)");
	return r;
}

static struct rendered render(const char *page)
{
	return render_in(page, NULL);
}

static void rendered_free(struct rendered *r)
{
	free(r->out);
	free(r->err);
}

/* The text of top-level section NAME (its heading a line of its own at
 * column 0), up to the next one, with every run of white space made one
 * space and a space at either end. */
static char *section_text(const char *text, const char *name)
{
	char heading[64];
	snprintf(heading, sizeof(heading), "\n%s\n", name);
	const char *begin = strstr(text, heading);
	cr_assert_not_null(begin, "no section %s", name);
	begin += strlen(heading);
	const char *end = begin;
	while (*end && !(end[0] == '\n' && isupper((unsigned char)end[1])))
		end++;
	char *flat = malloc((size_t)(end - begin) + 3), *w = flat;
	*w++ = ' ';
	for (const char *s = begin; s < end; s++) {
		if (!isspace((unsigned char)*s))
			*w++ = *s;
		else if (w[-1] != ' ')
			*w++ = ' ';
	}
	if (w[-1] != ' ')
		*w++ = ' ';
	*w = '\0';
	return flat;
}

Test(unit_man, every_page_renders_without_a_warning)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		struct rendered r = render(pages[i]);
		cr_expect_eq(r.status, 0, "man -l %s: exit %d", pages[i], r.status);
		cr_expect_str_empty(r.err, "man --warnings -l %s: %s", pages[i], r.err);
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(pages[i], "."), pages[i]);
		cr_expect_not_null(strstr(r.out, name), "%s does not name itself", pages[i]);
		cr_expect_not_null(strstr(r.out, "\nSEE ALSO\n"), "%s has no SEE ALSO", pages[i]);
		rendered_free(&r);
		/* a fresh system may have no UTF-8 locale at all: plain ASCII */
		r = render_in(pages[i], "C");
		cr_expect_eq(r.status, 0, "LC_ALL=C man -l %s: exit %d", pages[i], r.status);
		cr_expect_str_empty(r.err, "LC_ALL=C man --warnings -l %s: %s", pages[i], r.err);
		rendered_free(&r);
	}
}

/* Where a key entry " NAME = " stands in the flattened KEYS text, from
 * *from on, before limit (NULL: the end). */
static bool has_entry(const char *from, const char *limit, const char *name)
{
	char entry[96];
	snprintf(entry, sizeof(entry), " %s = ", name);
	const char *at = strstr(from, entry);
	return at && (!limit || at < limit);
}

Test(unit_man, the_topology_page_lists_every_key_under_its_section)
{
	struct rendered r = render("mpbs-topology.5");
	char *keys = section_text(r.out, "KEYS");
	for (size_t i = 0; i < topo_n_keys; i++) {
		const struct topo_key *k = &topo_keys[i];
		char title[64], heading[80];
		topo_section_title(k->section, title, sizeof(title));
		snprintf(heading, sizeof(heading), " %s ", title);
		const char *from = strstr(keys, heading);
		cr_assert_not_null(from, "mpbs-topology(5): no subsection %s", title);
		const char *next = NULL;
		for (size_t j = i + 1; j < topo_n_keys && !next; j++) {
			if (topo_keys[j].section == k->section)
				continue;
			topo_section_title(topo_keys[j].section, title, sizeof(title));
			snprintf(heading, sizeof(heading), " %s ", title);
			next = strstr(from, heading);
		}
		cr_expect(has_entry(from, next, k->name), "mpbs-topology(5) lacks key %s in its section", k->name);
	}
	free(keys);
	rendered_free(&r);
}

Test(unit_man, the_provider_policy_page_lists_every_key)
{
	struct rendered r = render("mpbs-provider-policy.5");
	char *keys = section_text(r.out, "KEYS");
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++)
		cr_expect(has_entry(keys, NULL, policy_keys[i].name), "mpbs-provider-policy(5) lacks key %s",
			  policy_keys[i].name);
	free(keys);
	rendered_free(&r);
}

/* Every long option that `mpbs-run --help` and each subcommand's --help
 * name (the binary's own word, not a list kept here) is in mpbs-run(8). */
Test(unit_man, the_run_page_has_every_option_the_binary_names)
{
	const char *bin = getenv("MPBS_RUN");
	cr_assert_not_null(bin, "MPBS_RUN names no binary (make check sets it)");
	char subs[256] = "", cmd[PATH_MAX * 2 + 512];
	for (size_t i = 0; i < n_subcommands; i++) /* the binary's own table */
		snprintf(subs + strlen(subs), sizeof(subs) - strlen(subs), " %s", subcommands[i].name);
	snprintf(cmd, sizeof(cmd),
		 "{ '%s' --help; for s in%s; do '%s' $s --help; done; } | grep -o -- '--[a-z][a-z-]*' | sort -u", bin,
		 subs, bin);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	struct rendered r = render("mpbs-run.8");
	char opt[128];
	size_t n = 0;
	while (fgets(opt, sizeof(opt), p)) {
		opt[strcspn(opt, "\n")] = '\0';
		cr_expect_not_null(strstr(r.out, opt), "mpbs-run(8) does not mention %s", opt);
		n++;
	}
	cr_assert_eq(pclose(p), 0);
	cr_assert_gt(n, 20, "only %zu options found in the --help texts", n);
	rendered_free(&r);
}

/* The command line as every part of it agrees (the subcommands, and the
 * main command's options). */
Test(unit_man, the_run_page_shows_every_subcommand_and_option)
{
	static const char *const synopsis[] = {
		"mpbs-run [OPTIONS] TOPOLOGY", "mpbs-run -t", "mpbs-run --audit", "mpbs-run --print-policy ROLE",
		"mpbs-run --print-keys", "mpbs-run --version", "mpbs-run help", "mpbs-run keygen DIR",
		"mpbs-run keygen --token FILE", "mpbs-run keys init", "mpbs-run token", "mpbs-run verify LEDGER",
		"mpbs-run status",
	};
	static const char *const options[] = {
		"-v, --verbose", "-q, --quiet", "--log-format", "--set", "--ready-fd", "--drain-timeout", "--rootless",
		"-t, --check", "-h, --help",
	};
	struct rendered r = render("mpbs-run.8");
	char *text = section_text(r.out, "SYNOPSIS");
	for (size_t i = 0; i < sizeof(synopsis) / sizeof(synopsis[0]); i++)
		cr_expect_not_null(strstr(text, synopsis[i]), "mpbs-run(8) SYNOPSIS lacks '%s'", synopsis[i]);
	free(text);
	text = section_text(r.out, "OPTIONS");
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		cr_expect_not_null(strstr(text, options[i]), "mpbs-run(8) OPTIONS lacks '%s'", options[i]);
	free(text);
	text = section_text(r.out, "EXIT STATUS");
	static const char *const statuses[] = { " 0 ", " 1 ", " 2 ", " 75 ", " 78 " };
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		cr_expect_not_null(strstr(text, statuses[i]), "mpbs-run(8) EXIT STATUS lacks%s", statuses[i]);
	free(text);
	rendered_free(&r);
}
