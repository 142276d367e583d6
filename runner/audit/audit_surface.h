/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's argument surface section: runs runner/audit/surface.c's table in
 * one sealed sandbox of each policy kind (the intermediary, the
 * association, the first provider without and the first with exec), one
 * process per case, checks that every syscall each policy allows has a row,
 * and reports per role what is refused, what is allowed and why. */
#ifndef MPBS_AUDIT_SURFACE_H
#define MPBS_AUDIT_SURFACE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "probe.h"
#include "../plan.h"

struct audit_surface;
struct seccomp_log;

/* Runs the section on the prepared plan P; env[k] is what role k's cases
 * aim at. Must run after everything else that uses P's listener and
 * channels (a wrong policy may shut the listener). Returns 0 and *out
 * (free with audit_surface_free), or -1 with err set (the audit could not
 * run: a sandbox could not be spawned). */
int audit_surface_run(struct run_plan *p, const struct probe_env *env, struct seccomp_log *log,
		      struct audit_surface **out, char *err, size_t errlen);

size_t audit_surface_violated(const struct audit_surface *s);

/* The text section, after the audit's own rows. */
void audit_surface_print(const struct audit_surface *s, FILE *out);

/* {"cases", "reviewed", "violated", "results": [...]}; NULL on no memory. */
json_t *audit_surface_json(const struct audit_surface *s);

/* One JUnit <testsuite> element. */
void audit_surface_junit(const struct audit_surface *s, FILE *f);

void audit_surface_free(struct audit_surface *s);

/* Test only (--audit-policy-dir): replaces every policy of P by the file
 * of the same name in DIR, so a test can show that a policy re-allowing a
 * hostile class turns exactly its rows VIOLATED. Returns 0, or -1 with err. */
int audit_surface_use_policies(struct run_plan *p, const char *dir, char *err, size_t errlen);

#endif
