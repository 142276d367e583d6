/* SPDX-License-Identifier: Apache-2.0 */
/* Seccomp allowlists of the roles: parsed from the files in policy/, compiled by
 * libseccomp, installed as the last sandbox step, printable for review and
 * exportable as OCI runtime-spec JSON.
 *
 * Policy file format (one syscall per line, read by a reviewer top to bottom):
 *
 *   # comment                       '#' starts a comment anywhere on a line
 *   read                            allow unconditionally
 *   socket: arg0 == AF_UNIX         allow if the condition holds
 *   mmap: arg2 & PROT_EXEC == 0     masked equality: (arg2 & MASK) == VALUE
 *   clone: arg0 & (CLONE_THREAD|CLONE_NEWUSER) == 0 && arg1 == 0
 *                                   conditions joined by && are ANDed
 *   shutdown: arg0 >= 4             int argument (fd, signal) in 4..0x7fffffff
 *   rt_sigaction: arg0 in 1..30     int argument in a closed range
 *   clone3: return ENOSYS           fail with an errno instead of killing
 *   @include provider.policy        another file of the same directory
 *
 * The same syscall on several lines means OR of the alternatives. Values are
 * decimal, 0x hex, symbolic constants from a small table in
 * seccomp_conditions.c, or several of those joined by '|'. An unknown
 * syscall, constant or errno, bad syntax, a duplicate line, two actions for
 * one syscall, an include loop or includes nested deeper than
 * SECCOMP_POLICY_MAX_INCLUDE_DEPTH are errors naming file and line.
 *
 * Beware '!=' on arguments the kernel declares as int: the filter compares
 * 64 bits, the kernel uses 32, so a caller can set upper bits to pass a
 * '!=' check. The shipped policies use only '==', masked '==' and the
 * range forms, which compile into masked '==' on the low 32 bits (one rule
 * per aligned block: libseccomp takes one comparison per argument).
 *
 * Any other syscall, and any syscall of a foreign architecture (i386
 * int 0x80, x32), kills the process (SECCOMP_RET_KILL_PROCESS, by SIGSYS);
 * the supervisor names it from the kernel's audit record (seccomp_log.h). */
#ifndef MPBS_SECCOMP_H
#define MPBS_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SECCOMP_POLICY_MAX_INCLUDE_DEPTH 4

struct seccomp_policy;

/* Parses PATH (and its includes) and compiles it once with libseccomp so
 * every error surfaces here, with file and line, not in the sandboxed child.
 * Returns 0 and *out (free with seccomp_policy_free), or -1 with err set. */
int seccomp_policy_load(const char *path, struct seccomp_policy **out, char *err, size_t errlen);

/* Compiles and loads the filter into the calling process (all threads).
 * Call in the sandboxed child as the very last setup step, after
 * no_new_privs. Returns 0, or -1 with err set. */
int seccomp_policy_install(const struct seccomp_policy *p, char *err, size_t errlen);

/* One line per rule with resolved numbers, in file order, preceded by a
 * '#' header line. Returns 0, or -1 if writing failed. */
int seccomp_policy_print(const struct seccomp_policy *p, FILE *out);

/* The policy as an OCI runtime-spec "linux.seccomp" object (defaultAction
 * SCMP_ACT_KILL_PROCESS, as the filter mpbs-run installs).
 * Returns 0, or -1 if building or writing the JSON failed. */
int seccomp_policy_export_oci(const struct seccomp_policy *p, FILE *out);

/* The compiled filter as the kernel takes it (an array of struct
 * sock_filter), written to fd: for a role that execs its program (the
 * bridge), which installs it itself with no_new_privs and TSYNC, as the
 * attributes of every other role's filter say. Returns 0, or -1 with err. */
int seccomp_policy_export_bpf(const struct seccomp_policy *p, int fd, char *err, size_t errlen);

void seccomp_policy_free(struct seccomp_policy *p);

/* True if some rule of P can allow syscall NAME (with or without argument
 * conditions). For audits and tests of the shipped lists. */
bool seccomp_policy_allows(const struct seccomp_policy *p, const char *name);

/* Calls FN with the syscall name of every rule of P that allows its call
 * (with or without argument conditions), in file order; a syscall listed on
 * several lines comes once per line. Rules that fail a call with an errno
 * are skipped. Read-only; for the audit's argument review. */
void seccomp_policy_each_allowed(const struct seccomp_policy *p, void (*fn)(const char *name, void *ctx),
				 void *ctx);

/* The i-th symbolic constant a policy may name (errnos: the i-th errno a
 * "return" rule may name), NULL past the last: for mpbs-seccomp-policy(5). */
const char *seccomp_policy_name_at(size_t i, bool errnos);

/* Name of syscall NR on the native architecture, "unknown" if none.
 * The result stays valid until the next call from the same thread. */
const char *seccomp_syscall_name(long nr);

/* Same, into a caller buffer; returns BUF. */
const char *seccomp_syscall_name_r(long nr, char *buf, size_t buflen);

#endif
