/* Seccomp allowlists: the files in policy/ parsed into rules, compiled with
 * libseccomp, installed last in a sandboxed role. Format in seccomp.h. */
#define _GNU_SOURCE
#include "seccomp.h"
#include "memcheck.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define POLICY_MAX_LINE 512
#define POLICY_MAX_RULES 2048
#define POLICY_MAX_FILES 32
#define POLICY_MAX_ARGS 6
#define POLICY_NAME_MAX 40

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
	NAMED(MSG_FASTOPEN), NAMED(SOL_SOCKET), NAMED(IPPROTO_TCP), NAMED(TCP_NODELAY),
	NAMED(F_SETPIPE_SZ),
};

/* Errnos a "return" rule may name. */
static const struct named_value policy_errnos[] = {
	NAMED(EPERM), NAMED(ENOENT), NAMED(EACCES), NAMED(EINVAL), NAMED(ENOSYS),
	NAMED(ENOTTY), NAMED(EAFNOSUPPORT), NAMED(EOPNOTSUPP),
};

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

__attribute__((format(printf, 2, 3)))
static int line_error(const struct line_ctx *lc, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(lc->err, lc->errlen, "%s:%u: %s", lc->file, lc->line, msg);
	return -1;
}

static const struct named_value *lookup(const struct named_value *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static const char *errno_name(int e)
{
	for (size_t i = 0; i < sizeof(policy_errnos) / sizeof(policy_errnos[0]); i++)
		if (policy_errnos[i].value == (uint64_t)e)
			return policy_errnos[i].name;
	return NULL;
}

/* ---- a cursor over one line ---- */

struct cursor {
	const char *s;
};

static void skip_ws(struct cursor *c)
{
	while (*c->s == ' ' || *c->s == '\t')
		c->s++;
}

static bool take(struct cursor *c, const char *tok)
{
	skip_ws(c);
	size_t n = strlen(tok);
	if (strncmp(c->s, tok, n) != 0)
		return false;
	c->s += n;
	return true;
}

/* A single '&' (mask), not the '&&' that joins conditions. */
static bool take_mask_op(struct cursor *c)
{
	skip_ws(c);
	if (c->s[0] != '&' || c->s[1] == '&')
		return false;
	c->s++;
	return true;
}

static bool is_word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Reads [A-Za-z0-9_]+ into BUF. Returns its length, 0 if there is none,
 * -1 if it does not fit. */
static int take_word(struct cursor *c, char *buf, size_t len)
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
		return line_error(lc, "number '%s' has a leading zero (write octal values in hex)", word);
	for (const char *d = digits; *d; d++)
		if (!(hex ? isxdigit((unsigned char)*d) : isdigit((unsigned char)*d)))
			return line_error(lc, "bad number '%s'", word);
	if (*digits == '\0')
		return line_error(lc, "bad number '%s'", word);
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, hex ? 16 : 10);
	if (errno == ERANGE)
		return line_error(lc, "number '%s' does not fit in 64 bits", word);
	*out = v;
	return 0;
}

static int parse_term(const struct line_ctx *lc, struct cursor *c, uint64_t *out)
{
	char word[64];
	const char *at = (skip_ws(c), c->s);
	int n = take_word(c, word, sizeof(word));
	if (n <= 0)
		return line_error(lc, "expected a number or constant at '%s'", *at ? at : "end of line");
	if (isdigit((unsigned char)word[0]))
		return parse_number(lc, word, out);
	const struct named_value *nv =
		lookup(policy_constants, sizeof(policy_constants) / sizeof(policy_constants[0]), word);
	if (!nv)
		return line_error(lc, "unknown constant '%s'", word);
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
		return line_error(lc, "missing ')' at '%s'", where(c));
	return 0;
}

/* ---- conditions ---- */

static int parse_arg_index(const struct line_ctx *lc, struct cursor *c, unsigned *index)
{
	char word[16];
	const char *at = (skip_ws(c), c->s);
	int n = take_word(c, word, sizeof(word));
	if (n != 4 || strncmp(word, "arg", 3) != 0 || word[3] < '0' || word[3] > '5')
		return line_error(lc, "expected arg0..arg5 at '%s'", *at ? at : "end of line");
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
		return line_error(lc, "expected 'LO..HI' after 'in' at '%s'", where(c));
	if (!floor_only && parse_value(lc, c, &hi) < 0)
		return -1;
	if (lo > hi || hi > INT_ARG_MAX)
		return line_error(lc, "a range must lie within 0..0x7fffffff (an int argument such as an fd)");
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
		return line_error(lc, "expected '==' or '!=' at '%s'", where(c));
	if (masked && !equal)
		return line_error(lc, "a mask can only be compared with '==' (libseccomp has no masked '!=')");
	if (parse_value(lc, c, &value) < 0)
		return -1;
	if (masked && (value & ~mask))
		return line_error(lc, "value 0x%" PRIx64 " has bits outside the mask 0x%" PRIx64
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
			return line_error(lc, "arg%u is tested twice in one rule", cmp->arg);
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
		return line_error(lc, "expected an errno after 'return' at '%s'", where(c));
	uint64_t e;
	if (isdigit((unsigned char)word[0])) {
		if (parse_number(lc, word, &e) < 0)
			return -1;
	} else {
		const struct named_value *nv =
			lookup(policy_errnos, sizeof(policy_errnos) / sizeof(policy_errnos[0]), word);
		if (!nv)
			return line_error(lc, "unknown errno '%s'", word);
		e = nv->value;
	}
	if (e == 0 || e > 4095)
		return line_error(lc, "errno %" PRIu64 " out of range 1..4095", e);
	r->errno_ret = (int)e;
	return 0;
}

/* After "name:": either "return ERRNO" or conditions. */
static int parse_rule_body(const struct line_ctx *lc, struct cursor *c, struct policy_rule *r)
{
	struct cursor probe = *c;
	char word[16];
	if (take_word(&probe, word, sizeof(word)) > 0 && strcmp(word, "return") == 0) {
		*c = probe;
		return parse_errno(lc, c, r);
	}
	if (!*(skip_ws(c), c->s))
		return line_error(lc, "expected a condition or 'return ERRNO' after ':'");
	return parse_conditions(lc, c, r);
}

/* ---- rules ---- */

static int resolve_syscall(const struct line_ctx *lc, const char *name, int *nr)
{
	int n = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
	if (n == __NR_SCMP_ERROR)
		return line_error(lc, "unknown syscall '%s'", name);
	if (n < 0)
		return line_error(lc, "syscall '%s' does not exist on this architecture", name);
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
			return line_error(lc, "'%s' already has another action at %s:%u", r->name,
					  p->files[old->file], old->line);
		if (same_conditions(old, r))
			return line_error(lc, "duplicate rule for '%s' (first at %s:%u)", r->name,
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
		return line_error(lc, "more than %d rules", POLICY_MAX_RULES);
	if (p->nrules == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct policy_rule *grown = realloc(p->rules, cap * sizeof(*grown));
		if (!grown)
			return line_error(lc, "out of memory");
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
		return line_error(lc, "syscall name too long at '%.40s'", at);
	if (n == 0)
		return line_error(lc, "expected a syscall name at '%s'", at);
	if (resolve_syscall(lc, r.name, &r.nr) < 0)
		return -1;
	if (take(c, ":") && parse_rule_body(lc, c, &r) < 0)
		return -1;
	if (*(skip_ws(c), c->s))
		return line_error(lc, "unexpected '%s'", c->s);
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
		return line_error(lc, "expected a file name after @include");
	memcpy(name, c->s, n);
	name[n] = '\0';
	c->s += n;
	if (!is_plain_file_name(name))
		return line_error(lc, "@include takes a file name of the same directory, not '%s'", name);
	if (*(skip_ws(c), c->s))
		return line_error(lc, "unexpected '%s'", c->s);
	if (ps->nopen > SECCOMP_POLICY_MAX_INCLUDE_DEPTH)
		return line_error(lc, "includes nested deeper than %d", SECCOMP_POLICY_MAX_INCLUDE_DEPTH);
	const char *slash = strrchr(lc->file, '/');
	int dirlen = slash ? (int)(slash - lc->file) + 1 : 0;
	if (snprintf(path, sizeof(path), "%.*s%s", dirlen, lc->file, name) >= (int)sizeof(path))
		return line_error(lc, "include path too long");
	return parse_file(ps, path, lc);
}

static int parse_directive(struct parse_state *ps, const struct line_ctx *lc, struct cursor *c)
{
	char word[32];
	const char *at = c->s;
	if (take_word(c, word, sizeof(word)) <= 0 || strcmp(word, "include") != 0)
		return line_error(lc, "unknown directive '@%.32s'", at);
	if (*c->s != ' ' && *c->s != '\t')
		return line_error(lc, "expected a file name after @include");
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

__attribute__((format(printf, 3, 4)))
static int state_error(const struct parse_state *ps, const struct line_ctx *from, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (from)
		return line_error(from, "%s", msg);
	snprintf(ps->err, ps->errlen, "%s", msg);
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
	FILE *f = fopen(path, "re");
	if (!f)
		return state_error(ps, from, "open %s: %s", path, strerror(errno)), NULL;
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
			rc = line_error(&lc, "line longer than %d bytes", POLICY_MAX_LINE);
		else if (strlen(line) != (size_t)len)
			rc = line_error(&lc, "NUL byte in line");
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

/* ---- compile ---- */

static uint32_t rule_action(const struct policy_rule *r)
{
	return r->errno_ret ? SCMP_ACT_ERRNO((uint32_t)r->errno_ret) : SCMP_ACT_ALLOW;
}

static int set_filter_attrs(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const struct {
		enum scmp_filter_attr attr;
		uint32_t value;
		const char *what;
	} attrs[] = {
		/* i386 (int 0x80) and x32 entry points die without a report. */
		{ SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad-arch action" },
		{ SCMP_FLTATR_CTL_TSYNC, 1, "thread sync" },
		{ SCMP_FLTATR_CTL_NNP, 1, "no_new_privs" },
		{ SCMP_FLTATR_API_SYSRAWRC, 1, "raw error codes" },
		/* A binary tree keeps the per-syscall cost flat as lists grow. */
		{ SCMP_FLTATR_CTL_OPTIMIZE, 2, "binary tree optimization" },
	};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		int rc = seccomp_attr_set(ctx, attrs[i].attr, attrs[i].value);
		if (rc < 0) {
			snprintf(err, errlen, "seccomp: set %s: %s", attrs[i].what, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static int add_rules(const struct seccomp_policy *p, scmp_filter_ctx ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		/* exact: fail rather than let libseccomp rewrite what the file says */
		int rc = seccomp_rule_add_exact_array(ctx, rule_action(r), r->nr, r->ncmp, r->cmp);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: libseccomp rejected the rule for '%s': %s",
				 p->files[r->file], r->line, r->name, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* Unlisted syscalls kill the whole process. Not a trap: a SIGSYS handler
 * lives in the role's own memory, and a role can make its own handler
 * return (remap a page over it, or fail the signal frame so a handler of
 * another signal runs), then go on probing its filter. The kernel names the
 * call in its audit record (seccomp_log.h). */
static scmp_filter_ctx policy_compile(const struct seccomp_policy *p, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return NULL;
	}
	if (set_filter_attrs(ctx, err, errlen) < 0 || add_rules(p, ctx, err, errlen) < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* ---- public: load, install, free ---- */

void seccomp_policy_free(struct seccomp_policy *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->rules);
	free(p);
}

int seccomp_policy_load(const char *path, struct seccomp_policy **out, char *err, size_t errlen)
{
	struct parse_state ps = { .err = err, .errlen = errlen };
	*out = NULL;
	ps.policy = calloc(1, sizeof(*ps.policy));
	if (!ps.policy) {
		snprintf(err, errlen, "load %s: out of memory", path);
		return -1;
	}
	if (parse_file(&ps, path, NULL) < 0)
		goto fail;
	/* A trial compile so libseccomp's objections surface here, not in the
	 * sandboxed child. The memcheck build installs no filter, and under
	 * valgrind libseccomp cannot even query the kernel (memcheck.h). */
	if (!MEMCHECK_BUILD) {
		scmp_filter_ctx ctx = policy_compile(ps.policy, err, errlen);
		if (!ctx)
			goto fail;
		seccomp_release(ctx);
	}
	*out = ps.policy;
	return 0;
fail:
	seccomp_policy_free(ps.policy);
	return -1;
}

int seccomp_policy_install(const struct seccomp_policy *p, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = policy_compile(p, err, errlen);
	if (!ctx)
		return -1;
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp_load %s: %s", p->files[0], strerror(-rc));
		return -1;
	}
	return 0;
}

bool seccomp_policy_allows(const struct seccomp_policy *p, const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
	if (nr < 0)
		return false;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].nr == nr && p->rules[i].errno_ret == 0)
			return true;
	return false;
}

void seccomp_policy_each_allowed(const struct seccomp_policy *p, void (*fn)(const char *name, void *ctx),
				 void *ctx)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].errno_ret == 0)
			fn(p->rules[i].name, ctx);
}

/* ---- print ---- */

static const char *arch_label(bool oci)
{
	switch (seccomp_arch_native()) {
	case SCMP_ARCH_X86_64:
		return oci ? "SCMP_ARCH_X86_64" : "x86_64";
	case SCMP_ARCH_AARCH64:
		return oci ? "SCMP_ARCH_AARCH64" : "aarch64";
	default:
		return NULL;
	}
}

static void print_condition(FILE *out, const struct scmp_arg_cmp *c)
{
	if (c->op == SCMP_CMP_MASKED_EQ)
		fprintf(out, "arg%u & 0x%" PRIx64 " == 0x%" PRIx64, c->arg, (uint64_t)c->datum_a,
			(uint64_t)c->datum_b);
	else
		fprintf(out, "arg%u %s 0x%" PRIx64, c->arg, c->op == SCMP_CMP_EQ ? "==" : "!=",
			(uint64_t)c->datum_a);
}

static void print_rule(const struct seccomp_policy *p, const struct policy_rule *r, FILE *out)
{
	fprintf(out, "%s %d ", r->name, r->nr);
	if (r->errno_ret) {
		const char *name = errno_name(r->errno_ret);
		fprintf(out, "errno %s (%d)", name ? name : "?", r->errno_ret);
	} else {
		fputs("allow", out);
	}
	for (unsigned i = 0; i < r->ncmp; i++) {
		fputs(i ? " && " : " if ", out);
		print_condition(out, &r->cmp[i]);
	}
	fprintf(out, "  # %s:%u\n", p->files[r->file], r->line);
}

int seccomp_policy_print(const struct seccomp_policy *p, FILE *out)
{
	const char *arch = arch_label(false);
	fprintf(out, "# seccomp policy %s, arch %s, %zu rules; any other syscall, and any of "
		     "another architecture, kills the process (SIGSYS)\n",
		p->files[0], arch ? arch : "native", p->nrules);
	for (size_t i = 0; i < p->nrules; i++)
		print_rule(p, &p->rules[i], out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- OCI export ---- */

static const char *oci_op(enum scmp_compare op)
{
	switch (op) {
	case SCMP_CMP_EQ:
		return "SCMP_CMP_EQ";
	case SCMP_CMP_NE:
		return "SCMP_CMP_NE";
	default:
		return "SCMP_CMP_MASKED_EQ";
	}
}

static json_t *oci_args(const struct policy_rule *r)
{
	json_t *args = json_array();
	for (unsigned i = 0; args && i < r->ncmp; i++) {
		const struct scmp_arg_cmp *c = &r->cmp[i];
		/* jansson integers are signed 64-bit */
		if (c->datum_a > INT64_MAX || c->datum_b > INT64_MAX)
			goto fail;
		json_t *arg = json_pack("{s:I, s:I, s:s}", "index", (json_int_t)c->arg, "value",
					(json_int_t)c->datum_a, "op", oci_op(c->op));
		if (!arg || (c->op == SCMP_CMP_MASKED_EQ &&
			     json_object_set_new(arg, "valueTwo", json_integer((json_int_t)c->datum_b)) < 0)) {
			json_decref(arg);
			goto fail;
		}
		if (json_array_append_new(args, arg) < 0)
			goto fail;
	}
	return args;
fail:
	json_decref(args);
	return NULL;
}

/* One entry per conditional or errno rule: entries are ORed, the args of
 * one entry ANDed, as in runc. */
static json_t *oci_rule(const struct policy_rule *r)
{
	if (r->errno_ret)
		return json_pack("{s:[s], s:s, s:I}", "names", r->name, "action", "SCMP_ACT_ERRNO",
				 "errnoRet", (json_int_t)r->errno_ret);
	return json_pack("{s:[s], s:s, s:o}", "names", r->name, "action", "SCMP_ACT_ALLOW", "args",
			 oci_args(r));
}

/* Unconditional allows share one entry; the plain list goes first. */
static int oci_prepend_plain(json_t *list, json_t *plain)
{
	if (json_array_size(plain) == 0) {
		json_decref(plain);
		return 0;
	}
	/* json_pack's "o" and the *_new calls take the reference even on failure */
	return json_array_insert_new(list, 0, json_pack("{s:o, s:s}", "names", plain, "action",
							"SCMP_ACT_ALLOW"));
}

static json_t *oci_syscalls(const struct seccomp_policy *p)
{
	json_t *plain = json_array(), *list = json_array();
	if (!plain || !list)
		goto fail;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (r->ncmp == 0 && r->errno_ret == 0) {
			if (json_array_append_new(plain, json_string(r->name)) < 0)
				goto fail;
		} else if (json_array_append_new(list, oci_rule(r)) < 0) {
			goto fail;
		}
	}
	if (oci_prepend_plain(list, plain) < 0) {
		json_decref(list);
		return NULL;
	}
	return list;
fail:
	json_decref(plain);
	json_decref(list);
	return NULL;
}

int seccomp_policy_export_oci(const struct seccomp_policy *p, FILE *out)
{
	const char *arch = arch_label(true);
	json_t *syscalls = oci_syscalls(p);
	if (!arch || !syscalls) {
		json_decref(syscalls);
		return -1;
	}
	json_t *root = json_pack("{s:s, s:[s], s:o}", "defaultAction", "SCMP_ACT_KILL_PROCESS",
				 "architectures", arch, "syscalls", syscalls);
	if (!root)
		return -1;
	int rc = json_dumpf(root, out, JSON_INDENT(2));
	json_decref(root);
	if (rc < 0 || fputc('\n', out) == EOF || fflush(out) != 0)
		return -1;
	return 0;
}

/* ---- syscall names ---- */

const char *seccomp_syscall_name_r(long nr, char *buf, size_t buflen)
{
	char *name = NULL;
	if (nr >= 0 && nr <= INT_MAX)
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);
	snprintf(buf, buflen, "%s", name ? name : "unknown");
	free(name); /* libseccomp hands out a copy */
	return buf;
}

const char *seccomp_syscall_name(long nr)
{
	/* per thread, so the supervisor may call it from anywhere */
	static _Thread_local char buf[POLICY_NAME_MAX];
	return seccomp_syscall_name_r(nr, buf, sizeof(buf));
}
