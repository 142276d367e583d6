/* SPDX-License-Identifier: Apache-2.0 */
/* rlimits of a role. RLIMIT_NPROC counts processes per real uid (in the
 * role's own user namespace), which is a per-role cap because every role
 * is uid 0 of a user namespace of its own, mapped to its own host uid; in a
 * rootless run (runner/rootless.h) they all map to the caller's, where the
 * roles' processes also count, together, against the supervisor's limit. */
#define _GNU_SOURCE
#include "limits.h"
#include "../lib/memcheck.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Defaults for an rlimit the topology leaves unset, from what the roles
 * were measured to use (README, topology keys): VmPeak 11 MB (intermediary,
 * providers) and 37 MB (association) under load; 9 to 12 open fds; one
 * thread each, two in the association (its fsync thread). The address
 * space and file size caps leave wide room: they stop a runaway, not a
 * normal peak. Under ASan (MPBS_SANITIZED) there is no default address
 * space cap (its shadow memory reserves terabytes) and no default process
 * cap (LeakSanitizer stops the world with a thread of its own); under
 * valgrind (the memcheck build) no default address space cap either, and no
 * default RLIMIT_NOFILE: valgrind refuses any hard limit but the one it set
 * (it keeps fds of its own above it). */
#define DEFAULT_AS_BYTES (1ULL << 30)
/* The intermediary holds each connection's body (up to max_request) and
 * its state: it gets at least room for all of them at once, plus a base. */
#define INTERMEDIARY_AS_BASE (256ULL << 20)
#define INTERMEDIARY_AS_PER_CONNECTION_EXTRA (16ULL << 10)
#define DEFAULT_FSIZE_BYTES (1ULL << 30)

#ifdef MPBS_SANITIZED
#define SANITIZED true
#else
#define SANITIZED false
#endif
/* Valgrind's own tool memory lives in the role's address space too. */
#define NO_DEFAULT_AS (SANITIZED || MEMCHECK_BUILD)

static uint64_t or_default(uint64_t set, uint64_t def)
{
	return set ? set : def;
}

/* A default never asks for more than the supervisor's own hard limit: a
 * role in a user namespace could not raise it, and would not start. */
static uint64_t clamp_to_hard(int resource, uint64_t value)
{
	struct rlimit now;
	if (value == 0 || getrlimit(resource, &now) < 0 || now.rlim_max == RLIM_INFINITY)
		return value;
	return value < (uint64_t)now.rlim_max ? value : (uint64_t)now.rlim_max;
}

static uint64_t per_connection_as(const struct topology *t)
{
	uint64_t need = INTERMEDIARY_AS_BASE +
			(uint64_t)t->max_connections * ((uint64_t)t->max_request + INTERMEDIARY_AS_PER_CONNECTION_EXTRA);
	return need > DEFAULT_AS_BYTES ? need : DEFAULT_AS_BYTES;
}

void limits_with_defaults(const struct topo_limits *set, enum role_kind role, const struct topology *t,
			  struct topo_limits *out)
{
	const struct role_kind_def *def = &role_kinds[role];
	bool per_connection = def->rlimits.per_connection;
	*out = *set;
	uint64_t nofile = def->rlimits.nofile + (per_connection ? (uint64_t)t->max_connections + t->n_providers : 0);
	uint64_t nproc = def->rlimits.nproc;
	if (!set->nofile && !MEMCHECK_BUILD)
		out->nofile = clamp_to_hard(RLIMIT_NOFILE, nofile);
	/* a provider with exec has its nproc from the topology (checked there) */
	if (!set->nproc && !SANITIZED)
		out->nproc = clamp_to_hard(RLIMIT_NPROC, nproc);
	if (!set->as_bytes && !NO_DEFAULT_AS)
		out->as_bytes = clamp_to_hard(RLIMIT_AS, per_connection ? per_connection_as(t) : DEFAULT_AS_BYTES);
	/* The ledger grows without bound: RLIMIT_FSIZE would kill its writer
	 * (SIGXFSZ) mid-append, so it gets none. */
	if (!def->writes_ledger)
		out->fsize = clamp_to_hard(RLIMIT_FSIZE, or_default(set->fsize, DEFAULT_FSIZE_BYTES));
}

/* One cell: the value, and why in parentheses where the row says. */
static void cell(FILE *f, enum doc_format fmt, const char *value, const char *why)
{
	char text[512];
	snprintf(text, sizeof(text), "%s%s%s%s", value, why ? " (" : "", why ? why : "", why ? ")" : "");
	doc_table_cell(f, fmt, text);
}

/* The table has a column per kind of role of every topology; the bridge,
 * which runs only in a host part, gets a sentence after it (a fifth column
 * would not fit a man page's width). */
static bool in_table(size_t k)
{
	return !role_kinds[k].across_hosts;
}

static int across_hosts_sentence(FILE *f)
{
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		const struct role_kind_def *d = &role_kinds[k];
		if (in_table(k))
			continue;
		if (fprintf(f, "\nA host part's %s: nofile %u (%s), nproc %u (%s), as %llu GiB, fsize %llu GiB.\n", d->name,
			    d->rlimits.nofile, d->rlimits.why_nofile, d->rlimits.nproc, d->rlimits.why_nproc,
			    DEFAULT_AS_BYTES >> 30, DEFAULT_FSIZE_BYTES >> 30) < 0)
			return -1;
	}
	return 0;
}

int limits_table(FILE *f, enum doc_format fmt)
{
	char v[160];
	const char *titles[1 + ROLE_KINDS] = { "rlimit" };
	size_t cols = 0;
	for (size_t k = 0; k < ROLE_KINDS; k++)
		if (in_table(k))
			titles[1 + cols++] = role_kinds[k].name;
	doc_table_head(f, fmt, titles, 1 + cols);
	doc_table_row(f, fmt, "nofile");
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		if (!in_table(k))
			continue;
		const struct role_rlimits *l = &role_kinds[k].rlimits;
		snprintf(v, sizeof(v), l->per_connection ? "`max_connections` + providers + %u" : "%u", l->nofile);
		cell(f, fmt, v, l->why_nofile);
	}
	doc_table_row_end(f, fmt);
	doc_table_row(f, fmt, "nproc");
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		if (!in_table(k))
			continue;
		const struct role_kind_def *d = &role_kinds[k];
		snprintf(v, sizeof(v), "%u%s", d->rlimits.nproc,
			 d->policy[POLICY_EXEC] ? "; with `exec = yes` it must be set" : "");
		cell(f, fmt, v, d->rlimits.why_nproc);
	}
	doc_table_row_end(f, fmt);
	doc_table_row(f, fmt, "as");
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		if (!in_table(k))
			continue;
		const struct role_rlimits *l = &role_kinds[k].rlimits;
		if (l->per_connection)
			snprintf(v, sizeof(v), "%llu MiB + `max_connections` × (`max_request` + %llu KiB), at least %llu GiB",
				 INTERMEDIARY_AS_BASE >> 20, INTERMEDIARY_AS_PER_CONNECTION_EXTRA >> 10,
				 DEFAULT_AS_BYTES >> 30);
		else
			snprintf(v, sizeof(v), "%llu GiB", DEFAULT_AS_BYTES >> 30);
		cell(f, fmt, v, l->why_as);
	}
	doc_table_row_end(f, fmt);
	doc_table_row(f, fmt, "fsize");
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		if (!in_table(k))
			continue;
		snprintf(v, sizeof(v), "%llu GiB", DEFAULT_FSIZE_BYTES >> 30);
		if (role_kinds[k].writes_ledger)
			cell(f, fmt, "none: it would cut the ledger", NULL);
		else
			cell(f, fmt, v, role_kinds[k].rlimits.why_fsize);
	}
	doc_table_row_end(f, fmt);
	return across_hosts_sentence(f) < 0 ? -1 : doc_flush(f);
}

static int set_limit(int resource, const char *name, uint64_t value, char *err, size_t errlen)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value };
	if (setrlimit(resource, &rl) == 0)
		return 0;
	int saved = errno;
	struct rlimit now;
	if (saved == EPERM && getrlimit(resource, &now) == 0 && now.rlim_max != RLIM_INFINITY)
		snprintf(err, errlen, "rlimits: %s=%llu: %s (above the inherited hard limit %llu)", name,
			 (unsigned long long)value, strerror(saved), (unsigned long long)now.rlim_max);
	else
		snprintf(err, errlen, "rlimits: %s=%llu: %s", name, (unsigned long long)value,
			 strerror(saved));
	return -1;
}

int limits_apply_rlimits(const struct topo_limits *l, char *err, size_t errlen)
{
	if (l && l->nofile && set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", l->nofile, err, errlen) < 0)
		return -1;
	if (l && l->nproc && set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", l->nproc, err, errlen) < 0)
		return -1;
	if (l && l->as_bytes && set_limit(RLIMIT_AS, "RLIMIT_AS", l->as_bytes, err, errlen) < 0)
		return -1;
	if (l && l->fsize && set_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", l->fsize, err, errlen) < 0)
		return -1;
	/* A core dump would write the role's memory (keys) to disk. */
	return set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err, errlen);
}
