/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Runs the argument surface table (runner/audit/surface.c) and reports it; see
 * audit_surface.h and docs/CLAIMS.md. */
#include "audit_surface.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "audit_internal.h"
#include "surface.h"
#include "../channels.h"
#include "../seccomp.h"
#include "../seccomp_log.h"
#include "../spawn.h"

/* How long one case may take (they take milliseconds). */
#define SURFACE_CASE_MS 10000

struct surface_row {
	const struct surface_case *c; /* NULL: a coverage row */
	const char *syscall;
	size_t role;
	char got[80];
	bool ok;
};

struct audit_surface {
	const struct run_plan *p;
	struct seccomp_log *log; /* names the syscall of each seccomp kill */
	struct surface_row *rows;
	size_t n_rows, cap_rows;
	size_t cases, reviewed, violated;
	size_t allowed_calls[PLAN_ROLES_MAX]; /* distinct syscalls its policy allows; 0: role not sampled */
};

static struct surface_row *new_row(struct audit_surface *s)
{
	return audit_append(&s->rows, &s->n_rows, &s->cap_rows, sizeof(*s->rows));
}

static bool has_state(const struct run_plan *p, size_t k)
{
	return p->roles[k].kind == ROLE_PROVIDER && p->t->providers[p->roles[k].provider].state;
}

/* What a row expects on this kernel: before Linux 6.16 there is no
 * SO_PASSRIGHTS, an fd sent on a channel is not refused at the sender, and
 * it is the receiver's reading without a control buffer that drops it. */
static enum surface_expect expect_of(const struct surface_case *c)
{
	if (c->mech == MECH_PASSRIGHTS && c->expect == SURFACE_REFUSED && !channel_kernel_refuses_fds())
		return SURFACE_ALLOWED;
	return c->expect;
}

/* ---- one case ---- */

static void drain_socket(int fd)
{
	char buf[512];
	while (fd >= 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* What a case may have left in the plan's channels (an allowed write or
 * an fd in flight) is read without a control buffer and dropped, so the
 * next case starts from the same state. */
static void drain_channels(const struct run_plan *p)
{
	audit_restore_listener(p);
	for (size_t i = 0; i < p->t->n_providers; i++) {
		drain_socket(p->artifact[i].reader);
		drain_socket(p->signal[i].reader);
	}
}

/* A client of the listener on the host side, for SFD_CONNECTION: the
 * connection waits in the backlog until the case accepts it. */
static int connect_listener(const struct topology *t)
{
	int fd = socket(t->listen_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&t->listen_addr, t->listen_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Runs case c in a fresh sandbox of role k and fills row. Returns -1 only
 * if the sandbox could not be spawned at all. */
static int run_case(struct audit_surface *s, struct run_plan *p, size_t k, const struct surface_case *c,
		    const struct probe_env *env, struct surface_row *row, char *err, size_t errlen)
{
	struct role_plan *r = &p->roles[k];
	struct surface_call call = { .c = c, .env = env, .role = audit_probe_role(r) };
	struct role_spec spec = r->spec;
	struct role_proc rp;
	siginfo_t si = { 0 };
	int client = -1;

	spec.entry = surface_main;
	spec.arg = &call;
	if (c->fd == SFD_CONNECTION && (client = connect_listener(p->t)) < 0) {
		snprintf(row->got, sizeof(row->got), "no connection to accept: %s", strerror(errno));
		return 0;
	}
	audit_drain_pipe(r->status_rd);
	if (spawn_role(&spec, &rp, err, errlen) < 0) {
		if (client >= 0)
			close(client);
		return -1;
	}
	/* a case that blocks is a broken row, not a reason to hang the audit */
	struct pollfd done = { .fd = rp.pidfd, .events = POLLIN };
	bool hung = poll(&done, 1, SURFACE_CASE_MS) == 0;
	if (hung)
		role_proc_signal(&rp, SIGKILL);
	int rc = waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED);
	close(rp.pidfd);
	if (client >= 0)
		close(client);
	drain_channels(p);
	s->cases++;
	if (rc < 0) {
		snprintf(err, errlen, "waitid %s: %s", r->label, strerror(errno));
		return -1;
	}
	if (hung) {
		snprintf(row->got, sizeof(row->got), "still running after %d ms: killed", SURFACE_CASE_MS);
		return 0;
	}
	bool sigsys = seccomp_log_killed(&si);
	bool exited = si.si_code == CLD_EXITED;
	if (audit_setup_failed(&si, r->status_rd)) {
		snprintf(row->got, sizeof(row->got), "the case could not be set up");
		return 0;
	}
	audit_describe_end(s->log, rp.pid, &si, row->got, sizeof(row->got));
	if (expect_of(c) == SURFACE_ALLOWED)
		row->ok = exited && si.si_status == 0;
	else if (c->mech == MECH_SECCOMP && !c->code)
		row->ok = sigsys;
	else
		row->ok = exited && si.si_status == c->code;
	return 0;
}

/* ---- coverage ---- */

struct coverage {
	struct audit_surface *s;
	size_t k;
	unsigned bit;
	const char *seen[512];
	size_t n_seen;
	bool oom;
};

static bool has_row(const char *name, unsigned bit)
{
	for (size_t i = 0; i < surface_count; i++)
		if ((surface_table[i].roles & bit) && strcmp(surface_table[i].syscall, name) == 0)
			return true;
	return false;
}

/* Each distinct syscall the policy allows: a row of the table, or a
 * VIOLATED coverage row. */
static void cover(const char *name, void *ctx)
{
	struct coverage *cv = ctx;
	for (size_t i = 0; i < cv->n_seen; i++)
		if (strcmp(cv->seen[i], name) == 0)
			return;
	if (cv->n_seen < sizeof(cv->seen) / sizeof(cv->seen[0]))
		cv->seen[cv->n_seen++] = name;
	cv->s->allowed_calls[cv->k]++;
	if (has_row(name, cv->bit))
		return;
	struct surface_row *row = new_row(cv->s);
	if (!row) {
		cv->oom = true;
		return;
	}
	*row = (struct surface_row){ .syscall = name, .role = cv->k };
	snprintf(row->got, sizeof(row->got), "allowed by %s.policy, no row in runner/audit/surface.c",
		 audit_policy_file(&cv->s->p->roles[cv->k]));
}

/* ---- the section ---- */

/* Whether role k holds (or makes) the fd row c aims at: /state for a
 * provider with one, a lane of each direction for a bridge whose part has one. */
static bool has_fd(const struct run_plan *p, size_t k, const struct probe_env *env, const struct surface_case *c)
{
	switch (c->fd) {
	case SFD_STATE_FILE: return has_state(p, k);
	case SFD_LANE_R: return env->lane_reader >= 0;
	case SFD_LANE_W: return env->lane_writer >= 0;
	default: return true;
	}
}

/* For a bridge's SFD_TCP_CONN: a listener of the audit's on
 * 127.0.0.1:<first NATS port>, the one port its Landlock lets it reach,
 * unless a server (the host's own NATS) listens there already; -1 then. */
static int nats_stand_in(const struct probe_env *env)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)env->nats_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = env->nats_port > 0 ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
			bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int run_role(struct audit_surface *s, struct run_plan *p, size_t k, const struct probe_env *env, char *err,
		    size_t errlen)
{
	unsigned bit = audit_probe_role(&p->roles[k]);
	/* the differential run closes the first provider's status pipe */
	if (p->roles[k].status_wr < 0 && plan_renew_status(&p->roles[k], err, errlen) < 0)
		return -1;
	int stand_in = bit == PROBE_ROLE_BRIDGE ? nats_stand_in(env) : -1;
	for (size_t i = 0; i < surface_count; i++) {
		const struct surface_case *c = &surface_table[i];
		if (!(c->roles & bit) || !has_fd(p, k, env, c))
			continue;
		struct surface_row *row = new_row(s);
		if (!row) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		*row = (struct surface_row){ .c = c, .syscall = c->syscall, .role = k };
		if (c->expect == SURFACE_NO_CLASS) {
			row->ok = true;
			s->reviewed++;
			continue;
		}
		if (run_case(s, p, k, c, env, row, err, errlen) < 0)
			goto fail;
		/* what a case sent to the stand-in is left unread, then dropped */
		for (int conn; stand_in >= 0 && (conn = accept4(stand_in, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
			close(conn);
	}
	if (stand_in >= 0)
		close(stand_in);
	struct coverage cv = { .s = s, .k = k, .bit = bit };
	seccomp_policy_each_allowed(p->roles[k].spec.seccomp, cover, &cv);
	if (cv.oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
fail:
	if (stand_in >= 0)
		close(stand_in);
	return -1;
}

int audit_surface_run(struct run_plan *p, const struct probe_env *env, struct seccomp_log *log,
		      struct audit_surface **out, char *err, size_t errlen)
{
	struct audit_surface *s = calloc(1, sizeof(*s));
	unsigned done = 0;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->p = p;
	s->log = log;
	/* one sandbox of each policy kind: providers of one kind differ only
	 * in names, keys and whether they have /state; one with /state is
	 * preferred, so its rows run */
	/* a host part's bridge too (PROBE_ROLE_ALL is the roles of every topology) */
	const unsigned every = PROBE_ROLE_ALL | PROBE_ROLE_BRIDGE;
	size_t pick[PROBE_ROLE_ALL | PROBE_ROLE_BRIDGE];
	for (size_t k = 0; k < p->n_roles; k++) {
		unsigned bit = audit_probe_role(&p->roles[k]);
		if (!(done & bit) || (has_state(p, k) && !has_state(p, pick[bit])))
			pick[bit] = k;
		done |= bit;
	}
	for (unsigned bit = 1; bit <= every; bit <<= 1)
		if ((done & bit) && run_role(s, p, pick[bit], &env[pick[bit]], err, errlen) < 0) {
			audit_surface_free(s);
			return -1;
		}
	for (size_t i = 0; i < s->n_rows; i++)
		s->violated += !s->rows[i].ok;
	*out = s;
	return 0;
}

size_t audit_surface_violated(const struct audit_surface *s)
{
	return s ? s->violated : 0;
}

void audit_surface_free(struct audit_surface *s)
{
	if (!s)
		return;
	free(s->rows);
	free(s);
}

/* ---- report ---- */

static void expected_text(const struct surface_row *r, char *buf, size_t len)
{
	const struct surface_case *c = r->c;
	if (!c)
		snprintf(buf, len, "a row");
	else if (expect_of(c) == SURFACE_ALLOWED)
		snprintf(buf, len, "0");
	else if (c->expect == SURFACE_NO_CLASS)
		snprintf(buf, len, "-");
	else
		audit_describe_expected(c->mech == MECH_SECCOMP && !c->code, c->code, buf, len);
}

static const char *verdict(const struct surface_row *r)
{
	return !r->ok ? "VIOLATED" : r->c && r->c->expect == SURFACE_NO_CLASS ? "REVIEWED" : "ENFORCED";
}

static const char *class_name(const struct surface_row *r)
{
	return r->c ? surface_expect_name(r->c->expect) : "COVERAGE";
}

static const char *row_id(const struct surface_row *r, char *buf, size_t len)
{
	if (r->c)
		return r->c->id;
	snprintf(buf, len, "surface.coverage.%s", r->syscall);
	return buf;
}

void audit_surface_print(const struct audit_surface *s, FILE *out)
{
	fprintf(out, "\nargument surface: %zu cases run, %zu NO CLASS rows (reviewed, not run), %zu violated\n",
		s->cases, s->reviewed, s->violated);
	for (size_t k = 0; k < s->p->n_roles; k++) {
		if (!s->allowed_calls[k])
			continue;
		fprintf(out, "%s (%s.policy allows %zu syscalls)\n", s->p->roles[k].label, audit_policy_file(&s->p->roles[k]),
			s->allowed_calls[k]);
		for (size_t i = 0; i < s->n_rows; i++) {
			const struct surface_row *r = &s->rows[i];
			char id[96], want[32];
			if (r->role != k)
				continue;
			expected_text(r, want, sizeof(want));
			fprintf(out, "  %-8s %-8s %-44s", verdict(r), class_name(r), row_id(r, id, sizeof(id)));
			if (!r->c)
				fprintf(out, " %s\n", r->got);
			else if (r->c->expect == SURFACE_NO_CLASS)
				fprintf(out, " %s\n", r->c->why);
			else
				fprintf(out, " %s: expected %s, got %s%s%s\n", r->c->action, want, r->got,
					r->c->why ? "; " : "", r->c->why ? r->c->why : "");
		}
	}
}

json_t *audit_surface_json(const struct audit_surface *s)
{
	json_t *results = json_array();
	for (size_t i = 0; i < s->n_rows; i++) {
		const struct surface_row *r = &s->rows[i];
		char id[96], want[32];
		expected_text(r, want, sizeof(want));
		json_array_append_new(
			results,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", row_id(r, id, sizeof(id)),
				  "role", s->p->roles[r->role].label, "syscall", r->syscall, "class", class_name(r),
				  "action", r->c && r->c->action ? r->c->action : "", "mechanism",
				  r->c && r->c->expect == SURFACE_REFUSED ? probe_mechanism_name(r->c->mech) : "",
				  "why", r->c && r->c->why ? r->c->why : "", "expected", want, "got",
				  r->c && r->c->expect == SURFACE_NO_CLASS ? "-" : r->got, "verdict", verdict(r)));
	}
	return json_pack("{s:I, s:I, s:I, s:o}", "cases", (json_int_t)s->cases, "reviewed", (json_int_t)s->reviewed,
			 "violated", (json_int_t)s->violated, "results", results);
}

void audit_surface_junit(const struct audit_surface *s, FILE *f)
{
	fprintf(f, "<testsuite name=\"mpbs-audit-surface\" tests=\"%zu\" failures=\"%zu\">\n", s->n_rows, s->violated);
	for (size_t i = 0; i < s->n_rows; i++) {
		const struct surface_row *r = &s->rows[i];
		char id[96], want[32];
		expected_text(r, want, sizeof(want));
		audit_junit_case(f, s->p->roles[r->role].label, row_id(r, id, sizeof(id)), r->ok,
				 r->c ? r->c->action : r->syscall, want, r->got, NULL);
	}
	fputs("</testsuite>\n", f);
}

/* ---- test-only policies ---- */

int audit_surface_use_policies(struct run_plan *p, const char *dir, char *err, size_t errlen)
{
	for (enum role_kind kind = 0; kind < ROLE_KINDS; kind++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++) {
			struct seccomp_policy *pol;
			if (!role_kinds[kind].policy[v])
				continue;
			if (plan_load_policy_from(dir, role_kinds[kind].policy[v], &pol, err, errlen) < 0)
				return -1;
			for (size_t k = 0; k < p->n_roles; k++)
				if (p->roles[k].spec.seccomp == p->policy[kind][v])
					p->roles[k].spec.seccomp = pol;
			seccomp_policy_free(p->policy[kind][v]);
			p->policy[kind][v] = pol;
		}
	log_warn("audit: seccomp policies from %s (test only)", dir);
	return 0;
}
