/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run --audit`: proves the claims of docs/ARCHITECTURE.md §6 from inside the real
 * sandboxes. The plan is prepared exactly as a run prepares it; every probe
 * of runner/audit/probe.c runs in a fresh sandbox of each role it concerns (same
 * spec, same seal, only main replaced), and host-side checks inspect a live
 * sealed sandbox of every role. The report is a claim × role matrix, a
 * per-role exposure score (docs/CLAIMS.md), and optional JSON and JUnit. */
#ifndef MPBS_AUDIT_H
#define MPBS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "../topology.h"

#define AUDIT_WEAKEN_MAX 8

enum audit_layer {
	AUDIT_WEAKEN_SECCOMP,
	AUDIT_WEAKEN_CAPS,
	AUDIT_WEAKEN_NETNS,
	AUDIT_WEAKEN_SCM,    /* channel reader ends accept passed fds (no SO_PASSRIGHTS off) */
	AUDIT_WEAKEN_GROUPS, /* cloned with the supervisor's supplementary groups */
	AUDIT_WEAKEN_ENV,    /* keeps the supervisor's environment */
	AUDIT_WEAKEN_STDERR, /* fd 2 is the supervisor's stderr, not its own log pipe */
	AUDIT_WEAKEN_EXEC_LANDLOCK, /* a provider's programs run without their own Landlock domain */
	AUDIT_WEAKEN_FDS,    /* no close_range: it keeps every fd the supervisor had open */
};

/* Test-only: removes one layer from the roles matching `role`
 * ("intermediary", "association", "provider" for all providers, or a
 * provider's name), to show that the audit notices. */
struct audit_weakening {
	enum audit_layer layer;
	const char *role;
};

struct audit_options {
	const char *json_path;   /* NULL: none */
	const char *junit_path;  /* NULL: none */
	double threshold;        /* highest exposure score allowed; < 0: no limit */
	struct audit_weakening weaken[AUDIT_WEAKEN_MAX];
	size_t n_weaken;
	const char *policy_dir;  /* test only: seccomp policies from here; NULL: the shipped ones */
};

/* The layers --audit-weaken takes, space-separated (for --help). */
const char *audit_weaken_words(void);

/* Parses "LAYER:ROLE" (LAYER: one of audit_weaken_words()) into w (role
 * points into spec).
 * Returns 0, or -1 with err set. */
int audit_parse_weakening(const char *spec, struct audit_weakening *w, char *err, size_t errlen);

/* Runs the audit; prints the report on stdout. Returns the exit status:
 * 0 if every probe held and no score is over the threshold, 1 if not,
 * 2 if the audit itself could not run (reported). */
int audit_run(const struct topology *t, const struct audit_options *o);

#endif
