/* SPDX-License-Identifier: Apache-2.0 */
/* What the parts of the seccomp policy code share and no other file uses
 * (their API is seccomp.h): the parsed policy, the cursor over one policy
 * line, and how a parse error names its place. The parts:
 *
 *   seccomp_parse.c       the policy language: files, @include, one rule a line
 *   seccomp_conditions.c  a rule's body: values, named constants, argument
 *                         conditions, 'return ERRNO'
 *   seccomp.c             compile with libseccomp, load, install, free, queries
 *   seccomp_print.c       the text printout for review and the OCI JSON export */
#ifndef MPBS_SECCOMP_INTERNAL_H
#define MPBS_SECCOMP_INTERNAL_H

#include "seccomp.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define POLICY_MAX_FILES 32
#define POLICY_MAX_ARGS 6
#define POLICY_NAME_MAX 40

struct policy_rule {
	int nr;
	char name[POLICY_NAME_MAX];
	int errno_ret; /* 0: allow; otherwise fail the call with this errno */
	unsigned ncmp;
	struct scmp_arg_cmp cmp[POLICY_MAX_ARGS]; /* sorted by argument index */
	unsigned file;                            /* index into seccomp_policy.files */
	unsigned line;
};

struct seccomp_policy {
	char *files[POLICY_MAX_FILES];
	unsigned nfiles;
	struct policy_rule *rules;
	size_t nrules, cap;
};

/* Where a parse error is reported: the file and line being read. */
struct line_ctx {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
};

/* ---- a cursor over one line, for seccomp_parse.c and seccomp_conditions.c ---- */

struct cursor {
	const char *s;
};

static inline void skip_ws(struct cursor *c)
{
	while (*c->s == ' ' || *c->s == '\t')
		c->s++;
}

static inline bool take(struct cursor *c, const char *tok)
{
	skip_ws(c);
	size_t n = strlen(tok);
	if (strncmp(c->s, tok, n) != 0)
		return false;
	c->s += n;
	return true;
}

static inline bool is_word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Reads [A-Za-z0-9_]+ into BUF. Returns its length, 0 if there is none,
 * -1 if it does not fit. */
static inline int take_word(struct cursor *c, char *buf, size_t len)
{
	skip_ws(c);
	size_t n = 0;
	while (is_word_char(c->s[n]))
		n++;
	if (n >= len)
		return -1;
	memcpy(buf, c->s, n);
	buf[n] = '\0';
	c->s += n;
	return (int)n;
}

/* seccomp_parse.c: reads PATH and its includes into P (zeroed). Returns 0,
 * or -1 with err set; P keeps what was read, for seccomp_policy_free. */
int policy_parse(struct seccomp_policy *p, const char *path, char *err, size_t errlen);

/* seccomp_parse.c: writes "FILE:LINE: message" for the line LC is reading.
 * Returns -1. */
__attribute__((format(printf, 2, 3)))
int policy_line_error(const struct line_ctx *lc, const char *fmt, ...);

/* seccomp_conditions.c: what follows "name:" on a rule's line, either
 * "return ERRNO" or conditions joined by "&&", into R. Returns 0, or -1
 * with the error in LC. */
int policy_rule_body(const struct line_ctx *lc, struct cursor *c, struct policy_rule *r);

/* seccomp_conditions.c: the name of errno E in the table a "return" rule
 * may name, NULL if it is not there. */
const char *policy_errno_name(int e);

#endif
