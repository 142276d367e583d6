/* SPDX-License-Identifier: Apache-2.0 */
/* A parsed seccomp policy written out for people and other tools: the
 * text of `mpbs-run --print-policy` (one line per rule with resolved numbers,
 * for review) and the OCI runtime-spec JSON of `--print-policy --oci`. Both
 * only read the rules, so they sit apart from compiling and installing. */
#include "seccomp_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

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
		const char *name = policy_errno_name(r->errno_ret);
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
