/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp policy language (format in seccomp.h): reads a policy file
 * and the files it includes, line by line, into rules, and refuses what a
 * reviewer would misread (duplicates, two actions for a syscall, include
 * loops). A rule's body after "name:" is read by seccomp_conditions.c; what
 * is read is compiled by seccomp.c. */
#define _GNU_SOURCE
#include "seccomp_internal.h"
#include "../lib/errbuf.h"
#include "../lib/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_MAX_LINE 512
#define POLICY_MAX_RULES 2048
/* A message is cut to this many bytes before its place goes in front, so
 * one that quotes a long line or path reads as it always has. */
#define POLICY_MAX_MESSAGE 256

struct parse_state {
	struct seccomp_policy *policy;
	struct {
		dev_t dev;
		ino_t ino;
	} open_files[SECCOMP_POLICY_MAX_INCLUDE_DEPTH + 1];
	unsigned nopen;
	char *err;
	size_t errlen;
};

static int parse_file(struct parse_state *ps, const char *path, const struct line_ctx *from);

/* "FILE:LINE: message" (lib/errbuf.h), or the message alone without FILE. */
__attribute__((format(printf, 5, 0)))
static int report(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, va_list ap)
{
	char msg[POLICY_MAX_MESSAGE];
	err_vset(msg, sizeof(msg), fmt, ap);
	const struct err_where at = { .file = file, .line = (int)line };
	return err_at(err, errlen, &at, "%s", msg);
}

int policy_line_error(const struct line_ctx *lc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(lc->err, lc->errlen, lc->file, lc->line, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- rules ---- */

static int resolve_syscall(const struct line_ctx *lc, const char *name, int *nr)
{
	int n = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
	if (n == __NR_SCMP_ERROR)
		return policy_line_error(lc, "unknown syscall '%s'", name);
	if (n < 0)
		return policy_line_error(lc, "syscall '%s' does not exist on this architecture", name);
	*nr = n;
	return 0;
}

static bool same_conditions(const struct policy_rule *a, const struct policy_rule *b)
{
	if (a->ncmp != b->ncmp)
		return false;
	for (unsigned i = 0; i < a->ncmp; i++) {
		const struct scmp_arg_cmp *x = &a->cmp[i], *y = &b->cmp[i];
		if (x->arg != y->arg || x->op != y->op || x->datum_a != y->datum_a || x->datum_b != y->datum_b)
			return false;
	}
	return true;
}

/* Rejects what a reviewer would misread: one syscall with two actions, or
 * the same line twice. */
static int check_against_earlier(const struct parse_state *ps, const struct line_ctx *lc,
				 const struct policy_rule *r)
{
	const struct seccomp_policy *p = ps->policy;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *old = &p->rules[i];
		if (old->nr != r->nr)
			continue;
		if (old->errno_ret != r->errno_ret)
			return policy_line_error(lc, "'%s' already has another action at %s:%u", r->name,
					  p->files[old->file], old->line);
		if (same_conditions(old, r))
			return policy_line_error(lc, "duplicate rule for '%s' (first at %s:%u)", r->name,
					  p->files[old->file], old->line);
	}
	return 0;
}

static int add_rule(struct parse_state *ps, const struct line_ctx *lc, const struct policy_rule *r)
{
	struct seccomp_policy *p = ps->policy;
	if (check_against_earlier(ps, lc, r) < 0)
		return -1;
	if (p->nrules == POLICY_MAX_RULES)
		return policy_line_error(lc, "more than %d rules", POLICY_MAX_RULES);
	if (p->nrules == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct policy_rule *grown = realloc(p->rules, cap * sizeof(*grown));
		if (!grown)
			return policy_line_error(lc, "out of memory");
		p->rules = grown;
		p->cap = cap;
	}
	p->rules[p->nrules++] = *r;
	return 0;
}

/* A rule with a range condition becomes one rule per aligned block of
 * [LO, HI]: the block [B, B + 2^j) is "argN & (0xffffffff & ~(2^j - 1)) ==
 * B". The upper 32 bits are left out of the mask because the kernel drops
 * them from an int. Other rules are added as they are. */
static int expand_int_range(struct parse_state *ps, const struct line_ctx *lc, struct policy_rule *r)
{
	struct scmp_arg_cmp *range = NULL;
	for (unsigned i = 0; i < r->ncmp; i++)
		if (r->cmp[i].op == SCMP_CMP_GE)
			range = &r->cmp[i];
	if (!range)
		return add_rule(ps, lc, r);
	const unsigned arg = range->arg;
	const uint64_t hi = range->datum_b;
	uint64_t lo = range->datum_a;
	while (lo <= hi) {
		uint64_t size = lo ? lo & -lo : 1ULL << 31; /* the largest block aligned at lo */
		while (lo + size - 1 > hi)
			size >>= 1;
		*range = (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ,
						.datum_a = 0xffffffffULL & ~(size - 1),
						.datum_b = lo };
		if (add_rule(ps, lc, r) < 0)
			return -1;
		lo += size;
	}
	return 0;
}

static int parse_rule(struct parse_state *ps, const struct line_ctx *lc, unsigned file, struct cursor *c)
{
	struct policy_rule r = { .file = file, .line = lc->line };
	const char *at = (skip_ws(c), c->s);
	int n = take_word(c, r.name, sizeof(r.name));
	if (n < 0)
		return policy_line_error(lc, "syscall name too long at '%.40s'", at);
	if (n == 0)
		return policy_line_error(lc, "expected a syscall name at '%s'", at);
	if (resolve_syscall(lc, r.name, &r.nr) < 0)
		return -1;
	if (take(c, ":") && policy_rule_body(lc, c, &r) < 0)
		return -1;
	if (*(skip_ws(c), c->s))
		return policy_line_error(lc, "unexpected '%s'", c->s);
	return expand_int_range(ps, lc, &r);
}

/* ---- includes ---- */

static bool is_plain_file_name(const char *name)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *s = name; *s; s++)
		if (!is_word_char(*s) && *s != '.' && *s != '-')
			return false;
	return true;
}

static int parse_include(struct parse_state *ps, const struct line_ctx *lc, struct cursor *c)
{
	char name[NAME_MAX + 1], path[PATH_MAX];
	skip_ws(c);
	size_t n = strcspn(c->s, " \t");
	if (n == 0 || n >= sizeof(name))
		return policy_line_error(lc, "expected a file name after @include");
	memcpy(name, c->s, n);
	name[n] = '\0';
	c->s += n;
	if (!is_plain_file_name(name))
		return policy_line_error(lc, "@include takes a file name of the same directory, not '%s'", name);
	if (*(skip_ws(c), c->s))
		return policy_line_error(lc, "unexpected '%s'", c->s);
	if (ps->nopen > SECCOMP_POLICY_MAX_INCLUDE_DEPTH)
		return policy_line_error(lc, "includes nested deeper than %d", SECCOMP_POLICY_MAX_INCLUDE_DEPTH);
	const char *slash = strrchr(lc->file, '/');
	int dirlen = slash ? (int)(slash - lc->file) + 1 : 0;
	if (snprintf(path, sizeof(path), "%.*s%s", dirlen, lc->file, name) >= (int)sizeof(path))
		return policy_line_error(lc, "include path too long");
	return parse_file(ps, path, lc);
}

static int parse_directive(struct parse_state *ps, const struct line_ctx *lc, struct cursor *c)
{
	char word[32];
	const char *at = c->s;
	if (take_word(c, word, sizeof(word)) <= 0 || strcmp(word, "include") != 0)
		return policy_line_error(lc, "unknown directive '@%.32s'", at);
	if (*c->s != ' ' && *c->s != '\t')
		return policy_line_error(lc, "expected a file name after @include");
	return parse_include(ps, lc, c);
}

static int parse_line(struct parse_state *ps, const struct line_ctx *lc, unsigned file, char *line)
{
	line[strcspn(line, "#\r\n")] = '\0';
	struct cursor c = { line };
	skip_ws(&c);
	if (!*c.s)
		return 0;
	if (*c.s == '@') {
		c.s++;
		return parse_directive(ps, lc, &c);
	}
	return parse_rule(ps, lc, file, &c);
}

/* ---- files ---- */

/* An error about a file as a whole: placed at the @include line FROM that
 * names it, or unplaced for the top file. */
__attribute__((format(printf, 3, 4)))
static int state_error(const struct parse_state *ps, const struct line_ctx *from, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(ps->err, ps->errlen, from ? from->file : NULL, from ? from->line : 0, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_open(const struct parse_state *ps, const struct stat *st)
{
	for (unsigned i = 0; i < ps->nopen; i++)
		if (ps->open_files[i].dev == st->st_dev && ps->open_files[i].ino == st->st_ino)
			return true;
	return false;
}

static int check_file(const struct parse_state *ps, const struct line_ctx *from, const char *path, FILE *f,
		      struct stat *st)
{
	if (fstat(fileno(f), st) < 0)
		return state_error(ps, from, "stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return state_error(ps, from, "%s is not a regular file", path);
	if (is_open(ps, st))
		return state_error(ps, from, "include loop: %s is already being read", path);
	if (ps->policy->nfiles == POLICY_MAX_FILES)
		return state_error(ps, from, "more than %d policy files", POLICY_MAX_FILES);
	return 0;
}

/* Opens PATH, refuses an include loop, and records the file's name. */
static FILE *enter_file(struct parse_state *ps, const char *path, const struct line_ctx *from, unsigned *file)
{
	struct seccomp_policy *p = ps->policy;
	struct stat st;
	/* O_NONBLOCK: a FIFO named as a policy is refused by check_file, not waited on. */
	char why[POLICY_MAX_MESSAGE];
	int fd = fs_open_read(path, why, sizeof(why));
	if (fd < 0)
		return state_error(ps, from, "%s", why), NULL;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		state_error(ps, from, "open %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	char *copy = check_file(ps, from, path, f, &st) < 0 ? NULL : strdup(path);
	if (!copy) {
		if (errno == ENOMEM)
			state_error(ps, from, "load %s: out of memory", path);
		fclose(f);
		return NULL;
	}
	*file = p->nfiles;
	p->files[p->nfiles++] = copy;
	ps->open_files[ps->nopen].dev = st.st_dev;
	ps->open_files[ps->nopen].ino = st.st_ino;
	ps->nopen++;
	return f;
}

static int parse_lines(struct parse_state *ps, FILE *f, const char *path, unsigned file)
{
	struct line_ctx lc = { .file = ps->policy->files[file], .err = ps->err, .errlen = ps->errlen };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lc.line++;
		if (len > POLICY_MAX_LINE)
			rc = policy_line_error(&lc, "line longer than %d bytes", POLICY_MAX_LINE);
		else if (strlen(line) != (size_t)len)
			rc = policy_line_error(&lc, "NUL byte in line");
		else
			rc = parse_line(ps, &lc, file, line);
	}
	if (rc == 0 && ferror(f))
		rc = state_error(ps, NULL, "read %s: %s", path, strerror(errno));
	free(line);
	return rc;
}

static int parse_file(struct parse_state *ps, const char *path, const struct line_ctx *from)
{
	unsigned file;
	FILE *f = enter_file(ps, path, from, &file);
	if (!f)
		return -1;
	int rc = parse_lines(ps, f, path, file);
	ps->nopen--;
	fclose(f);
	return rc;
}

int policy_parse(struct seccomp_policy *p, const char *path, char *err, size_t errlen)
{
	struct parse_state ps = { .policy = p, .err = err, .errlen = errlen };
	return parse_file(&ps, path, NULL);
}
