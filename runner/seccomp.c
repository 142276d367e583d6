/* SPDX-License-Identifier: Apache-2.0 */
/* Seccomp allowlists of the roles, the kernel mechanism: a parsed policy
 * (seccomp_parse.c) compiled with libseccomp, loaded once in the supervisor
 * so every error names its file and line, installed last in a sandboxed
 * role; and the queries the audit and the naming of a seccomp kill make
 * (allowed syscalls, syscall names). Format in seccomp.h. */
#define _GNU_SOURCE
#include "seccomp_internal.h"
#include "../lib/memcheck.h"
#include "../lib/errbuf.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (rc < 0)
			return err_set(err, errlen, "seccomp: set %s: %s", attrs[i].what, strerror(-rc));
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
			const struct err_where at = { .file = p->files[r->file], .line = (int)r->line };
			return err_at(err, errlen, &at, "libseccomp rejected the rule for '%s': %s", r->name,
				      strerror(-rc));
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
		err_set(err, errlen, "seccomp_init failed");
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
	*out = NULL;
	struct seccomp_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(err, errlen, "load %s: out of memory", path);
	if (policy_parse(p, path, err, errlen) < 0)
		goto fail;
	/* A trial compile so libseccomp's objections surface here, not in the
	 * sandboxed child. The memcheck build installs no filter, and under
	 * valgrind libseccomp cannot even query the kernel (memcheck.h). */
	if (!MEMCHECK_BUILD) {
		scmp_filter_ctx ctx = policy_compile(p, err, errlen);
		if (!ctx)
			goto fail;
		seccomp_release(ctx);
	}
	*out = p;
	return 0;
fail:
	seccomp_policy_free(p);
	return -1;
}

int seccomp_policy_install(const struct seccomp_policy *p, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = policy_compile(p, err, errlen);
	if (!ctx)
		return -1;
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return err_set(err, errlen, "seccomp_load %s: %s", p->files[0], strerror(-rc));
	return 0;
}

int seccomp_policy_export_bpf(const struct seccomp_policy *p, int fd, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = policy_compile(p, err, errlen);
	if (!ctx)
		return -1;
	int rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0)
		return err_set(err, errlen, "seccomp: export the filter of %s: %s", p->files[0], strerror(-rc));
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
