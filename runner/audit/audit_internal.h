/* SPDX-License-Identifier: Apache-2.0 */
/* What the audit's files share (runner/audit/audit*.c): the audit's state,
 * its rows, and the steps audit_run (audit.c) takes in order: live
 * sandboxes (audit_spawn.c), host-side checks of them (audit_host.c,
 * audit_fork.c; as a normal user, audit_unprivileged.c), the probes
 * (audit_probes.c) and the host's look after some of them
 * (audit_after_probe.c), the differential run (audit_diff.c), the argument
 * surface (audit_surface.c), and the report (audit_report.c, each row's
 * outcome from audit_outcome.c). */
#ifndef MPBS_AUDIT_INTERNAL_H
#define MPBS_AUDIT_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "audit.h"
#include "probe.h"
#include "../plan.h"
#include "../role_log.h"
#include "../rootless.h"
#include "../seccomp_log.h"
#include "../spawn.h"

struct audit_row {
	const char *id;
	const char *action;
	size_t role;
	enum probe_mechanism mech;
	unsigned claims;
	char expected[96];
	char got[96];
	bool ok;
	/* Not ENFORCED, not VIOLATED: a --rootless run lacks the layer this row
	 * tests (audit_mark_weakened). NULL: the row counts by ok. */
	const struct weakening *weakened;
	/* Not ENFORCED, not VIOLATED, not WEAKENED: the layer is there (the
	 * sandbox is the same) but this audit could not see it, as a normal
	 * user cannot read /proc/PID/{ns,fd,environ} of a non-dumpable role
	 * (audit_unobserved_why). Wins over weakened and ok. */
	bool unobserved;
};

/* audit_outcome.c: what the report says of a row, and the counts of each */
enum audit_outcome { AUDIT_ENFORCED, AUDIT_VIOLATED, AUDIT_WEAKENED, AUDIT_UNOBSERVED, AUDIT_OUTCOMES };
enum audit_outcome audit_row_outcome(const struct audit_row *r);
/* "ENFORCED", "VIOLATED", "WEAKENED", "UNOBSERVED" */
const char *audit_outcome_name(enum audit_outcome o);
/* counts[o]: how many of the n rows have outcome o */
void audit_count_outcomes(const struct audit_row *rows, size_t n, size_t counts[AUDIT_OUTCOMES]);
/* Why a row is UNOBSERVED, for the report, JSON and JUnit. */
extern const char audit_unobserved_why[];

struct audit {
	struct run_plan plan;
	struct role_proc idle[PLAN_ROLES_MAX];
	/* what each live sandbox reported of itself (probe.h), if has_self */
	struct probe_idle_args idle_args[PLAN_ROLES_MAX];
	struct probe_self_report self[PLAN_ROLES_MAX];
	bool has_self[PLAN_ROLES_MAX];
	struct probe_env env[PLAN_ROLES_MAX];
	char other_key[PLAN_ROLES_MAX][4096];
	struct role_log log[PLAN_ROLES_MAX]; /* each role's stderr, labelled onto the audit's */
	struct audit_row *rows;
	size_t n_rows, cap_rows;
	int host_listener; /* a TCP service on the host's loopback that no role may reach */
	struct seccomp_log seclog; /* names the syscall of each seccomp kill */
	int host_port;
	struct audit_surface *surface; /* NULL: the section did not run (under a weakening) */
};

/* audit.c: appends a zeroed element to the array whose pointer is at items
 * (*n elements of size bytes, room for *cap; it grows by doubling).
 * Returns the element, or NULL (no memory; the array is unchanged). */
void *audit_append(void *items, size_t *n, size_t *cap, size_t size);
/* audit.c: a zeroed row at the end of a's rows, or NULL (no memory) */
struct audit_row *audit_new_row(struct audit *a);
/* audit.c: what the roles wrote on their log pipes, onto the audit's stderr */
void audit_forward_logs(struct audit *a);

/* audit_roles.c: which PROBE_ROLE_* bit of probe.h role r is */
unsigned audit_probe_role(const struct role_plan *r);
/* audit_roles.c: the file name of role r's seccomp policy, as the report shows it */
const char *audit_policy_file(const struct role_plan *r); /* its policy/<name>.policy, the name */
/* audit_roles.c: whether role k of p answers to name (--audit-weaken) */
bool audit_role_named(const struct run_plan *p, size_t k, const char *name);

/* audit_weaken.c: applies o's test-only weakenings to p. Returns 0, or -1 with err. */
int audit_apply_weakenings(struct run_plan *p, const struct audit_options *o, char *err, size_t errlen);

/* audit_spawn.c: the audit's sandboxes. Kills and reaps rp's, if any. */
void audit_reap(struct role_proc *rp);
/* The listener listens again: a sandbox of the intermediary (a probe, or a
 * wrong policy) may have shut it. */
void audit_restore_listener(const struct run_plan *p);
/* Empties a status pipe, so what is read next is the next sandbox's. */
void audit_drain_pipe(int fd);
/* Whether the sandbox that ended as si could not be built (its setup or
 * its seal failed); reads its status record from status_rd. */
bool audit_setup_failed(const siginfo_t *si, int status_rd);
/* How the sandbox of pid ended, as a row shows it: SIGSYS (with the
 * syscall's name, from log), 0, "data/found", an errno's name, or the signal. */
void audit_describe_end(struct seccomp_log *log, pid_t pid, const siginfo_t *si, char *buf, size_t len);
/* What a row expects: SIGSYS (sigsys), 0, or the name of errno code. */
void audit_describe_expected(bool sigsys, int code, char *buf, size_t len);
/* A live sandbox of role r: it reports itself on its status fd (if args
 * is not NULL), seals itself and sleeps (probe_idle_main). */
int audit_start_one_idle(const struct role_plan *r, struct role_proc *rp, const struct probe_idle_args *args,
			 char *err, size_t errlen);
/* Waits, up to 5 s, until that sandbox sleeps sealed. */
int audit_wait_idle(const struct role_proc *rp, const char *label, char *err, size_t errlen);
/* The live sandbox of every role, in a->idle, and its report in a->self. */
int audit_start_idle(struct audit *a, char *err, size_t errlen);

/* audit_host.c: the host-side checks, one row id each (host_checks[]) */
enum host_check_id {
	/* each live sandbox */
	HOST_SECCOMP_MODE,
	HOST_NO_NEW_PRIVS,
	HOST_CAPABILITIES,
	HOST_NAMESPACES,
	HOST_UID,
	HOST_NETNS_LINKS,
	HOST_FD_TABLE,
	HOST_NO_GROUPS,
	HOST_EMPTY_ENVIRON,
	HOST_OWN_STDERR,
	HOST_PROVIDER_MOUNTS,
	/* after a probe */
	HOST_FORK_BOMB_CONTAINED,
	HOST_FORGED_REJECTED,
	HOST_SCM_NOT_RECEIVED,
	/* once */
	HOST_DIFFERENTIAL,
	HOST_CHECK_COUNT /* the report's count of distinct host-side checks */
};

struct host_check {
	const char *id;
	const char *action;
	enum probe_mechanism mech;
	unsigned claims;
	const char *expected; /* NULL: the check writes it */
	/* What it reads of /proc/PID/ that needs ptrace access (a normal user
	 * has none to a non-dumpable role), or NULL: /proc/PID/status only. */
	const char *ptrace_entry;
	/* A check of each live sandbox: the roles (PROBE_ROLE_*) it concerns,
	 * and the check, which fills row's got, ok (and expected if NULL). */
	unsigned roles;
	void (*live)(struct audit *a, size_t k, struct audit_row *row);
	/* The same claim read from what /proc shows a normal user (where
	 * ptrace_entry is refused), or NULL: the row is UNOBSERVED. It may set
	 * the row's action and expected to what it could see, and returns
	 * what it could not, for an UNOBSERVED row of its own (NULL: none). */
	const struct host_view *(*unprivileged)(struct audit *a, size_t k, struct audit_row *row);
};

/* What an unprivileged view could not see of a check, as its own row. */
struct host_view {
	const char *id;
	const char *action;
	const char *expected;
};

extern const struct host_check host_checks[HOST_CHECK_COUNT];

/* Fills row with check id's text, for role k. */
void audit_host_describe(struct audit_row *row, enum host_check_id id, size_t k);
/* The same as a new row of a; NULL: no memory. */
struct audit_row *audit_host_row(struct audit *a, size_t k, enum host_check_id id);
/* The value of "KEY:" in /proc/PID/status; false if there is none. */
bool audit_status_value(pid_t pid, const char *key, char *out, size_t len);
/* The inode of /proc/PID/ns/NAME (pid 0: the audit's own), or 0. */
ino_t audit_ns_inode(pid_t pid, const char *name);
/* Whether role r stays in the host's network namespace by design (the
 * role table's host_network: a host part's bridge); host.namespaces then
 * expects AUDIT_NS_HOST_NET instead of "all its own". */
bool audit_host_network(const struct role_plan *r);
#define AUDIT_NS_HOST_NET "all its own but net: the host's, by design (Landlock: TCP connect to [nats] ports)"
/* Runs every live check on every role's live sandbox. */
int audit_host_checks(struct audit *a, char *err, size_t errlen);

/* audit_fork.c: what a fork of the supervisor must not carry over (live checks) */
void audit_check_groups(struct audit *a, size_t k, struct audit_row *row);
void audit_check_environ(struct audit *a, size_t k, struct audit_row *row);
void audit_check_stderr(struct audit *a, size_t k, struct audit_row *row);
/* audit_fork.c: the same judgements of what was read, from the host or
 * from the live sandbox's report: an environment area with vars strings
 * (the first named first) in total bytes; fd 2 of mode, dev and ino */
void audit_judge_environ(size_t vars, const char *first, size_t total, struct audit_row *row);
void audit_judge_stderr(struct audit *a, size_t k, mode_t mode, dev_t dev, ino_t ino, struct audit_row *row);
/* audit_host.c: the fd table judged from the fds open from ROLE_FD_FIRST
 * on (above of them, the highest one) */
void audit_judge_fds(struct audit *a, size_t k, long above, long in_gap, long highest, struct audit_row *row);

/* The numbers a role's fd table leaves closed: the bridge's gap below its
 * lane channels (runner/plan_bridge.h); from == to: none. */
void audit_fd_gap(const struct run_plan *p, const struct role_plan *r, long *from, long *to);

/* audit_probes.c: every probe in a fresh sandbox of each role it concerns */
int audit_run_probes(struct audit *a, char *err, size_t errlen);

/* audit_after_probe.c: what the host checks after (or while) some probes act */
void audit_check_while_holding(struct audit *a, size_t k, long value, struct audit_row *host);
void audit_check_association_rejects(struct audit *a, size_t k, struct audit_row *host);
void audit_check_scm_receive(struct audit *a, struct audit_row *host);

/* audit_diff.c: the differential run (claim 2) */
int audit_differential(struct audit *a, char *err, size_t errlen);

/* audit_unprivileged.c: host checks read from what /proc shows a normal
 * user of a non-dumpable role (host_check.unprivileged) */
const struct host_view *audit_view_namespaces(struct audit *a, size_t k, struct audit_row *row);
const struct host_view *audit_view_links(struct audit *a, size_t k, struct audit_row *row);
const struct host_view *audit_view_fds(struct audit *a, size_t k, struct audit_row *row);
const struct host_view *audit_view_environ(struct audit *a, size_t k, struct audit_row *row);
const struct host_view *audit_view_stderr(struct audit *a, size_t k, struct audit_row *row);

/* audit_report.c: marks the rows a --rootless run weakens (their
 * mechanism is in runner/rootless.c's list) as WEAKENED */
void audit_mark_weakened(struct audit *a);

/* audit_report.c: prints the report, writes JSON and JUnit; returns the exit status */
int audit_report(const struct audit *a, const struct audit_options *o);
/* audit_report.c: one JUnit <testcase>, with a <failure> unless ok (and
 * " (mechanism M)" after what it got, if mechanism is not NULL) */
void audit_junit_case(FILE *f, const char *classname, const char *name, bool ok, const char *action,
		      const char *expected, const char *got, const char *mechanism);

#endif
