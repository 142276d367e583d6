/* SPDX-License-Identifier: Apache-2.0 */
/* The part of a seccomp policy line after "name:" (format in seccomp.h):
 * values, the symbolic constants and errnos a policy may name, argument
 * conditions, and "return ERRNO". Its own file because this is the grammar
 * a reviewer checks a condition against, and the tables they look a name up
 * in; seccomp_parse.c reads the files and lines around it. */
#define _GNU_SOURCE
#include "seccomp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* ---- the names a policy may use ---- */

struct named_value {
	const char *name;
	uint64_t value;
};

#define NAMED(x) { #x, (uint64_t)(x) }

/* The constants a policy may name. Kept small on purpose: a value a reviewer
 * cannot look up here should be written as a number with a comment. */
static const struct named_value policy_constants[] = {
	NAMED(AF_UNIX), NAMED(AF_INET), NAMED(AF_INET6), NAMED(AF_NETLINK), NAMED(AF_PACKET),
	NAMED(SOCK_STREAM), NAMED(SOCK_DGRAM), NAMED(SOCK_SEQPACKET),
	NAMED(SOCK_NONBLOCK), NAMED(SOCK_CLOEXEC),
	NAMED(SHUT_RD), NAMED(SHUT_WR), NAMED(SHUT_RDWR),
	NAMED(PROT_NONE), NAMED(PROT_READ), NAMED(PROT_WRITE), NAMED(PROT_EXEC),
	NAMED(MAP_SHARED), NAMED(MAP_PRIVATE), NAMED(MAP_ANONYMOUS), NAMED(MAP_FIXED),
	NAMED(CLONE_VM), NAMED(CLONE_FS), NAMED(CLONE_FILES), NAMED(CLONE_SIGHAND),
	NAMED(CLONE_THREAD), NAMED(CLONE_SYSVSEM), NAMED(CLONE_SETTLS), NAMED(CLONE_VFORK),
	NAMED(CLONE_PARENT), NAMED(CLONE_PARENT_SETTID), NAMED(CLONE_CHILD_SETTID),
	NAMED(CLONE_CHILD_CLEARTID), NAMED(CLONE_NEWNS), NAMED(CLONE_NEWUSER),
	NAMED(CLONE_NEWPID), NAMED(CLONE_NEWNET), NAMED(CLONE_NEWIPC), NAMED(CLONE_NEWUTS),
	NAMED(CLONE_NEWCGROUP),
	NAMED(O_RDONLY), NAMED(O_WRONLY), NAMED(O_RDWR), NAMED(O_ACCMODE), NAMED(O_CREAT),
	NAMED(O_TRUNC), NAMED(O_APPEND), NAMED(O_CLOEXEC), NAMED(O_NONBLOCK),
	NAMED(O_DIRECTORY), NAMED(O_NOFOLLOW), NAMED(O_PATH),
	NAMED(F_DUPFD), NAMED(F_DUPFD_CLOEXEC), NAMED(F_GETFD), NAMED(F_SETFD),
	NAMED(F_GETFL), NAMED(F_SETFL), NAMED(F_ADD_SEALS),
	NAMED(TCGETS), NAMED(TIOCGWINSZ), NAMED(FIONREAD), NAMED(FIONBIO),
	NAMED(FIOCLEX), NAMED(FIONCLEX),
	NAMED(PR_SET_PDEATHSIG), NAMED(PR_GET_PDEATHSIG), NAMED(PR_SET_NAME),
	NAMED(PR_GET_NAME), NAMED(PR_SET_NO_NEW_PRIVS), NAMED(PR_SET_DUMPABLE),
	NAMED(SIGKILL), NAMED(SIGTERM), NAMED(SIGABRT), NAMED(SIGCHLD), NAMED(SIGSYS),
	NAMED(MSG_FASTOPEN), NAMED(MSG_DONTWAIT), NAMED(MSG_CMSG_CLOEXEC), NAMED(MSG_NOSIGNAL), NAMED(MSG_PEEK),
	NAMED(MSG_TRUNC), NAMED(SOL_SOCKET), NAMED(IPPROTO_TCP), NAMED(TCP_NODELAY),
	NAMED(SO_ERROR), NAMED(SO_KEEPALIVE), NAMED(SO_SNDBUF), NAMED(SO_RCVBUF), NAMED(SO_PEEK_OFF),
	NAMED(SO_LINGER), NAMED(SO_REUSEADDR),
	NAMED(F_SETPIPE_SZ),
};

/* Errnos a "return" rule may name. */
static const struct named_value policy_errnos[] = {
	NAMED(EPERM), NAMED(ENOENT), NAMED(EACCES), NAMED(EINVAL), NAMED(ENOSYS),
	NAMED(ENOTTY), NAMED(EAFNOSUPPORT), NAMED(EOPNOTSUPP),
};

static const struct named_value *lookup(const struct named_value *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const char *policy_errno_name(int e)
{
	for (size_t i = 0; i < sizeof(policy_errnos) / sizeof(policy_errnos[0]); i++)
		if (policy_errnos[i].value == (uint64_t)e)
			return policy_errnos[i].name;
	return NULL;
}

const char *seccomp_policy_name_at(size_t i, bool errnos)
{
	if (errnos)
		return i < sizeof(policy_errnos) / sizeof(policy_errnos[0]) ? policy_errnos[i].name : NULL;
	return i < sizeof(policy_constants) / sizeof(policy_constants[0]) ? policy_constants[i].name : NULL;
}

/* ---- the cursor, beyond what seccomp_parse.c shares (seccomp_internal.h) ---- */

/* A single '&' (mask), not the '&&' that joins conditions. */
static bool take_mask_op(struct cursor *c)
{
	skip_ws(c);
	if (c->s[0] != '&' || c->s[1] == '&')
		return false;
	c->s++;
	return true;
}

static const char *where(const struct cursor *c)
{
	return *c->s ? c->s : "end of line";
}

/* ---- values ---- */

static int parse_number(const struct line_ctx *lc, const char *word, uint64_t *out)
{
	bool hex = word[0] == '0' && (word[1] == 'x' || word[1] == 'X');
	const char *digits = hex ? word + 2 : word;
	if (!hex && word[0] == '0' && word[1] != '\0')
		return policy_line_error(lc, "number '%s' has a leading zero (write octal values in hex)", word);
	for (const char *d = digits; *d; d++)
		if (!(hex ? isxdigit((unsigned char)*d) : isdigit((unsigned char)*d)))
			return policy_line_error(lc, "bad number '%s'", word);
	if (*digits == '\0')
		return policy_line_error(lc, "bad number '%s'", word);
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, hex ? 16 : 10);
	if (errno == ERANGE)
		return policy_line_error(lc, "number '%s' does not fit in 64 bits", word);
	*out = v;
	return 0;
}

static int parse_term(const struct line_ctx *lc, struct cursor *c, uint64_t *out)
{
	char word[64];
	const char *at = (skip_ws(c), c->s);
	int n = take_word(c, word, sizeof(word));
	if (n <= 0)
		return policy_line_error(lc, "expected a number or constant at '%s'", *at ? at : "end of line");
	if (isdigit((unsigned char)word[0]))
		return parse_number(lc, word, out);
	const struct named_value *nv =
		lookup(policy_constants, sizeof(policy_constants) / sizeof(policy_constants[0]), word);
	if (!nv)
		return policy_line_error(lc, "unknown constant '%s'", word);
	*out = nv->value;
	return 0;
}

/* value := term ('|' term)*, optionally in parentheses. */
static int parse_value(const struct line_ctx *lc, struct cursor *c, uint64_t *out)
{
	bool paren = take(c, "(");
	*out = 0;
	do {
		uint64_t term;
		if (parse_term(lc, c, &term) < 0)
			return -1;
		*out |= term;
	} while (take(c, "|"));
	if (paren && !take(c, ")"))
		return policy_line_error(lc, "missing ')' at '%s'", where(c));
	return 0;
}

/* ---- conditions ---- */

static int parse_arg_index(const struct line_ctx *lc, struct cursor *c, unsigned *index)
{
	char word[16];
	const char *at = (skip_ws(c), c->s);
	int n = take_word(c, word, sizeof(word));
	if (n != 4 || strncmp(word, "arg", 3) != 0 || word[3] < '0' || word[3] > '5')
		return policy_line_error(lc, "expected arg0..arg5 at '%s'", *at ? at : "end of line");
	*index = (unsigned)(word[3] - '0');
	return 0;
}

/* The largest value an int argument (an fd, a signal number) can take;
 * range conditions cover values up to it. */
#define INT_ARG_MAX 0x7fffffffULL

/* "argN >= V" and "argN in LO..HI" on an int argument. The filter sees 64
 * bits and the kernel uses the low 32, so a plain 64-bit '>=' or '!=' would
 * let 0x100000003 pass as 3; and libseccomp takes one comparison per
 * argument. The range is kept here (op SCMP_CMP_GE, datum_a LO, datum_b HI)
 * and compiled as one masked equality per aligned power-of-two block of the
 * low 32 bits (expand_int_range): exactly the value the kernel reads. */
static int parse_int_range(const struct line_ctx *lc, struct cursor *c, unsigned argno, bool floor_only,
			   struct scmp_arg_cmp *cmp)
{
	uint64_t lo, hi = INT_ARG_MAX;
	if (parse_value(lc, c, &lo) < 0)
		return -1;
	if (!floor_only && !take(c, ".."))
		return policy_line_error(lc, "expected 'LO..HI' after 'in' at '%s'", where(c));
	if (!floor_only && parse_value(lc, c, &hi) < 0)
		return -1;
	if (lo > hi || hi > INT_ARG_MAX)
		return policy_line_error(lc, "a range must lie within 0..0x7fffffff (an int argument such as an fd)");
	*cmp = (struct scmp_arg_cmp){ .arg = argno, .op = SCMP_CMP_GE, .datum_a = lo, .datum_b = hi };
	return 0;
}

/* cond := argN ['&' MASK] ('==' | '!=') VALUE
 *       | argN '>=' VALUE  |  argN 'in' LO '..' HI   (int arguments) */
static int parse_condition(const struct line_ctx *lc, struct cursor *c, struct scmp_arg_cmp *cmp)
{
	unsigned argno = 0;
	uint64_t mask = 0, value;
	if (parse_arg_index(lc, c, &argno) < 0)
		return -1;
	bool masked = take_mask_op(c);
	if (masked && parse_value(lc, c, &mask) < 0)
		return -1;
	if (!masked && take(c, ">="))
		return parse_int_range(lc, c, argno, true, cmp);
	struct cursor kw = *c;
	char word[4];
	if (!masked && take_word(&kw, word, sizeof(word)) == 2 && strcmp(word, "in") == 0) {
		*c = kw;
		return parse_int_range(lc, c, argno, false, cmp);
	}
	bool equal = take(c, "==");
	if (!equal && !take(c, "!="))
		return policy_line_error(lc, "expected '==' or '!=' at '%s'", where(c));
	if (masked && !equal)
		return policy_line_error(lc, "a mask can only be compared with '==' (libseccomp has no masked '!=')");
	if (parse_value(lc, c, &value) < 0)
		return -1;
	if (masked && (value & ~mask))
		return policy_line_error(lc, "value 0x%" PRIx64 " has bits outside the mask 0x%" PRIx64
				      ": the rule could never match", value, mask);
	*cmp = (struct scmp_arg_cmp){
		.arg = argno,
		.op = masked ? SCMP_CMP_MASKED_EQ : equal ? SCMP_CMP_EQ : SCMP_CMP_NE,
		.datum_a = masked ? mask : value,
		.datum_b = masked ? value : 0,
	};
	return 0;
}

/* Keeps conditions sorted by argument so equal rules compare equal. */
static int insert_condition(const struct line_ctx *lc, struct policy_rule *r, const struct scmp_arg_cmp *cmp)
{
	unsigned i = r->ncmp;
	for (unsigned k = 0; k < r->ncmp; k++)
		if (r->cmp[k].arg == cmp->arg)
			return policy_line_error(lc, "arg%u is tested twice in one rule", cmp->arg);
	while (i > 0 && r->cmp[i - 1].arg > cmp->arg) {
		r->cmp[i] = r->cmp[i - 1];
		i--;
	}
	r->cmp[i] = *cmp;
	r->ncmp++;
	return 0;
}

static int parse_conditions(const struct line_ctx *lc, struct cursor *c, struct policy_rule *r)
{
	do {
		struct scmp_arg_cmp cmp;
		if (parse_condition(lc, c, &cmp) < 0 || insert_condition(lc, r, &cmp) < 0)
			return -1;
	} while (take(c, "&&"));
	return 0;
}

static int parse_errno(const struct line_ctx *lc, struct cursor *c, struct policy_rule *r)
{
	char word[32];
	if (take_word(c, word, sizeof(word)) <= 0)
		return policy_line_error(lc, "expected an errno after 'return' at '%s'", where(c));
	uint64_t e;
	if (isdigit((unsigned char)word[0])) {
		if (parse_number(lc, word, &e) < 0)
			return -1;
	} else {
		const struct named_value *nv =
			lookup(policy_errnos, sizeof(policy_errnos) / sizeof(policy_errnos[0]), word);
		if (!nv)
			return policy_line_error(lc, "unknown errno '%s'", word);
		e = nv->value;
	}
	if (e == 0 || e > 4095)
		return policy_line_error(lc, "errno %" PRIu64 " out of range 1..4095", e);
	r->errno_ret = (int)e;
	return 0;
}

/* After "name:": either "return ERRNO" or conditions. */
int policy_rule_body(const struct line_ctx *lc, struct cursor *c, struct policy_rule *r)
{
	struct cursor probe = *c;
	char word[16];
	if (take_word(&probe, word, sizeof(word)) > 0 && strcmp(word, "return") == 0) {
		*c = probe;
		return parse_errno(lc, c, r);
	}
	if (!*(skip_ws(c), c->s))
		return policy_line_error(lc, "expected a condition or 'return ERRNO' after ':'");
	return parse_conditions(lc, c, r);
}
