/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* One epoll loop, no polling: a signalfd for SIGINT/SIGTERM/SIGHUP, a pidfd
 * per role, the status pipe and the log pipe of each role, and a timerfd
 * for stop deadlines.
 * Stop order: the intermediary first (nothing new comes in), then the
 * providers (they drain what is queued and sign a last checkpoint), then
 * the association (it records and fsyncs everything still in its channels). */
#include "supervise_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../roles/role.h"
#include "../roles/role_counters.h"
#include "../lib/landlock.h"
#include "../lib/memcheck.h"
#include "plan.h"
#include "role_log.h"
#include "seccomp.h"
#include "seccomp_log.h"
#include "forkwipe.h"

int epoll_watch(struct supervisor *s, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

static void on_all_ready(struct supervisor *s)
{
	log_event(LOG_SEV_INFO, "ready", "ready: intermediary on %s%s, %zu providers, ledger %s", s->t->listen,
		  s->t->http_path, s->t->n_providers, s->t->ledger);
	notify_ready(s);
	if (s->opt->ready_fd >= 0) {
		if (write(s->opt->ready_fd, "READY=1\n", 8) != 8)
			log_errno("--ready-fd");
		close(s->opt->ready_fd);
	}
}

/* A seccomp kill under a role's host uid that is not the role itself: a
 * program it ran (provider-exec). The role lives on, but a provider cannot
 * learn its filter by letting children die without the supervisor's log
 * saying so, in the kernel's words. The role's own death is reported with
 * its exit (report_seccomp_kill). */
static void on_seccomp_kill(const struct seccomp_kill *kill, void *ctx)
{
	struct supervisor *s = ctx;
	for (size_t k = 0; k < s->plan->n_roles; k++) {
		const struct role_plan *r = &s->plan->roles[k];
		/* only a provider that runs programs has processes of its own; the
		 * uid alone is the run's word, so another run on the same uids
		 * (runner/instance_lock.c refuses one) could still be named here */
		if (r->policy_variant != POLICY_EXEC || r->spec.host_uid != kill->uid ||
		    s->roles[k].proc.pid == kill->pid)
			continue;
		if (kill->native)
			log_event(LOG_SEV_WARNING, "seccomp-kill",
				  "%s: seccomp killed pid %d, a program it ran: denied syscall %s (%ld)", r->label,
				  (int)kill->pid, seccomp_syscall_name(kill->nr), kill->nr);
		else
			log_event(LOG_SEV_WARNING, "seccomp-kill",
				  "%s: seccomp killed pid %d, a program it ran: a syscall of another architecture",
				  r->label, (int)kill->pid);
	}
}

/* A seccomp kill, named from the kernel's audit record (seccomp_log.h):
 * the record is sent by the kernel's audit thread, so it may trail the
 * pidfd's readiness by a moment. */
static void report_seccomp_kill(struct supervisor *s, const char *label, pid_t pid)
{
	struct seccomp_kill kill;
	if (!seccomp_log_find_each(&s->seclog, pid, 500, &kill, on_seccomp_kill, s))
		log_event(LOG_SEV_ERROR, "seccomp-kill",
			  "%s (pid %d) killed by SIGSYS: a seccomp denial (the kernel's audit log named no "
			  "syscall), or a SIGSYS it raised itself",
			  label, pid);
	else if (!kill.native)
		log_event(LOG_SEV_ERROR, "seccomp-kill",
			  "%s (pid %d) killed by seccomp: a syscall of another architecture (%ld)", label, pid,
			  kill.nr);
	else
		log_event(LOG_SEV_ERROR, "seccomp-kill", "%s (pid %d) killed by seccomp: denied syscall %s (%ld)",
			  label, pid, seccomp_syscall_name(kill.nr), kill.nr);
}

/* What its exit status says, believed only of an incarnation that never
 * reported ready: once in its loop a role reads what others send, and a
 * status it chooses then must not stop the run or pass for a
 * configuration error. */
static enum role_end role_end_of(const struct supervisor *s, size_t k, const siginfo_t *si)
{
	if (si->si_code != CLD_EXITED || s->roles[k].sealed)
		return ROLE_END_FAILED;
	if (si->si_status == SPAWN_SETUP_FAILED)
		return ROLE_END_SETUP_FAILED;
	if (si->si_status == ROLE_CONFIG_INVALID)
		return ROLE_END_BAD_CONFIG;
	return ROLE_END_FAILED;
}

static void report_death(struct supervisor *s, size_t k, const siginfo_t *si, enum role_end end)
{
	const char *label = s->plan->roles[k].label;
	pid_t pid = s->roles[k].proc.pid;
	if (si->si_code == CLD_EXITED && si->si_status == 0 && s->phase == RUNNING)
		log_event(LOG_SEV_ERROR, "role-exit",
			  "%s (pid %d) exited with status 0 while the run goes on: a failure", label, pid);
	else if (si->si_code == CLD_EXITED && si->si_status == 0)
		log_event(LOG_SEV_INFO, "role-exit", "%s (pid %d) exited", label, pid);
	else if (end != ROLE_END_FAILED) /* only before ready (role_end_of) */
		log_event(LOG_SEV_ERROR, "role-exit", "%s (pid %d) could not start (see above)", label, pid);
	else if (si->si_code == CLD_EXITED)
		log_event(LOG_SEV_ERROR, "role-exit", "%s (pid %d) exited with status %d", label, pid, si->si_status);
	else if (seccomp_log_killed(si))
		report_seccomp_kill(s, label, pid);
	else
		log_event(LOG_SEV_ERROR, "role-exit", "%s (pid %d) killed by signal %d (%s)", label, pid, si->si_status,
			  strsignal(si->si_status));
}

static void on_status(struct supervisor *s, size_t k);

static void on_exit_of(struct supervisor *s, size_t k)
{
	siginfo_t si = { 0 };
	if (waitid((idtype_t)P_PIDFD, (id_t)s->roles[k].proc.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	s->roles[k].alive = false;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, s->roles[k].proc.pidfd, NULL);
	close(s->roles[k].proc.pidfd);
	/* Its last lines first. Every process of its pid namespace is gone once
	 * its init is, so the pipe holds all it wrote. */
	while (role_log_drain(&s->roles[k].log, s->plan->roles[k].stderr_rd, 2) > 0)
		;
	role_log_flush(&s->roles[k].log, 2);
	on_status(s, k); /* its last counters, written at its stop */
	report_death(s, k, &si, role_end_of(s, k, &si));
	if (s->deadline_deferred)
		arm_phase_deadline(s);
	bool clean = si.si_code == CLD_EXITED && si.si_status == 0;
	/* A role never ends on its own while the run goes on: an exit, even
	 * with status 0, is a failure then. */
	if (s->phase == RUNNING)
		after_death(s, k, role_end_of(s, k, &si));
	else if (!clean)
		run_failed(s, 1);
	if (s->phase != RUNNING)
		advance_stop(s);
}

/* A role's counters record (roles/role_counters.h), exactly its kind's
 * layout: what it counted since it started. Returns as
 * role_counters_parse. */
static ssize_t parse_counters(struct supervisor *s, size_t k, const uint8_t *b, size_t left)
{
	const struct role_counter_list *list = kind_of(s, k)->counters;
	uint64_t v[ROLE_COUNTERS_MAX];
	ssize_t used = role_counters_parse(b, left, list->n, v);
	if (used > 0)
		memcpy(s->roles[k].counters, v, list->n * sizeof(*v));
	return used;
}

/* Parses status records; returns how many bytes were consumed. */
static size_t parse_status(struct supervisor *s, size_t k)
{
	struct role_state *rs = &s->roles[k];
	size_t off = 0;
	while (off < rs->len) {
		uint8_t *b = rs->buf + off;
		size_t left = rs->len - off;
		if (rs->sealed) {
			/* Once in its loop a role has only its counters to give; anything
			 * else is its own invention (a forged "cannot start"). */
			ssize_t used = parse_counters(s, k, b, left);
			if (used == 0)
				break;
			if (used < 0) {
				log_warn("%s wrote %zu bytes to its status fd after it was ready: ignored (only a "
					 "counters record of its kind's length is taken then)", s->plan->roles[k].label, left);
				off = rs->len;
			} else {
				off += (size_t)used;
			}
		} else if (b[0] == ROLE_STATUS_READY) {
			off += 1;
			rs->sealed = true;
			if (rs->term_on_ready) {
				rs->term_on_ready = false;
				signal_role(s, k, SIGTERM);
			}
			if (s->deadline_deferred)
				arm_phase_deadline(s);
			/* a restarted role reports again; readiness is announced once */
			if (!rs->ready) {
				rs->ready = true;
				if (++s->ready == s->plan->n_roles)
					on_all_ready(s);
			}
		} else if (b[0] == STATUS_ERROR && left >= 3) {
			size_t mlen = (size_t)b[1] | (size_t)b[2] << 8;
			char msg[4 * sizeof(rs->buf)];
			if (3 + mlen > sizeof(rs->buf)) {
				/* it can never fit (roles/role.c cuts its message): not a
				 * record of ours; nothing after it is read as one */
				log_error("%s: a status record of %zu bytes, over %zu: killed", s->plan->roles[k].label,
					  3 + mlen, sizeof(rs->buf));
				signal_role(s, k, SIGKILL);
				return rs->len;
			}
			if (left < 3 + mlen)
				break;
			/* the role wrote it: escaped like its log lines */
			log_escape(b + 3, mlen, msg, sizeof(msg), false);
			log_error("%s: cannot start: %s", s->plan->roles[k].label, msg);
			off += 3 + mlen;
		} else if (b[0] != STATUS_ERROR) {
			log_warn("%s: unexpected status byte 0x%02x", s->plan->roles[k].label, b[0]);
			off += 1;
		} else {
			break;
		}
	}
	return off;
}

static void on_status(struct supervisor *s, size_t k)
{
	struct role_state *rs = &s->roles[k];
	ssize_t n = read(s->plan->roles[k].status_rd, rs->buf + rs->len, sizeof(rs->buf) - rs->len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			epoll_ctl(s->ep, EPOLL_CTL_DEL, s->plan->roles[k].status_rd, NULL);
		return;
	}
	rs->len += (size_t)n;
	size_t used = parse_status(s, k);
	memmove(rs->buf, rs->buf + used, rs->len - used);
	rs->len -= used;
	if (rs->len == sizeof(rs->buf))
		rs->len = 0; /* a role flooding its status pipe gets no say */
}

/* SIGHUP re-checks the file and says what it found; nothing is applied to
 * the running roles (no half-applied reload): a restart applies it. */
static void recheck_topology(struct supervisor *s)
{
	struct topology fresh;
	char err[1024];
	if (topology_load(&fresh, s->t->path, s->opt->overrides, s->opt->n_overrides, err, sizeof(err)) < 0) {
		log_event(LOG_SEV_ERROR, "sighup-check",
			  "SIGHUP: %s; the running roles keep the topology they started with", err);
		return;
	}
	log_event(LOG_SEV_INFO, "sighup-check",
		  "SIGHUP: %s checks OK (%zu providers); restart mpbs-run to apply any change", s->t->path,
		  fresh.n_providers);
	topology_free(&fresh);
}

static void on_signal(struct supervisor *s)
{
	struct signalfd_siginfo si;
	if (read(s->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		notify_reloading(s, true);
		recheck_topology(s);
		notify_reloading(s, false);
		return;
	}
	begin_stop(s, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", 0);
}

int start_role(struct supervisor *s, size_t k)
{
	char err[512];
	struct role_plan *r = &s->plan->roles[k];
	if (spawn_role(&r->spec, &s->roles[k].proc, err, sizeof(err)) < 0) {
		log_error("%s: cannot start: %s", r->label, err);
		return -1;
	}
	log_debug("%s started (pid %d)", r->label, (int)s->roles[k].proc.pid);
	s->roles[k].alive = true;
	s->roles[k].log.pid = s->roles[k].proc.pid;
	s->roles[k].sealed = false;
	s->roles[k].term_on_ready = false;
	s->roles[k].started_ms = clock_mono_ms();
	s->roles[k].len = 0;
	close(r->status_wr);
	r->status_wr = -1;
	if (epoll_watch(s, s->roles[k].proc.pidfd, EV_ROLE(k, EV_PIDFD)) < 0 ||
	    epoll_watch(s, r->status_rd, EV_ROLE(k, EV_STATUS)) < 0)
		return -1;
	/* Its segments socket (a fresh one at each start, like its status
	 * pipe) and its first spare. */
	if (kind_of(s, k)->writes_ledger) {
		segments_started(&s->plan->segments);
		if (epoll_watch(s, s->plan->segments.sock, EV_SEGMENTS) < 0)
			return -1;
	}
	if (!s->roles[k].log_watched) {
		if (epoll_watch(s, r->stderr_rd, EV_ROLE(k, EV_LOG)) < 0)
			return -1;
		s->roles[k].log_watched = true;
	}
	return 0;
}

static int start_roles(struct supervisor *s)
{
	/* In the reverse of the stop order: the association first, so it reads
	 * from the start; the intermediary last, so no request arrives before
	 * every provider is there. */
	for (unsigned ph = role_stop_phases(); ph >= 1; ph--)
		for (size_t k = 0; k < s->plan->n_roles; k++)
			if (in_phase(s, k, ph) && start_role(s, k) < 0)
				return -1;
	return 0;
}

static int loop_setup(struct supervisor *s)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		log_errno("sigprocmask");
		return -1;
	}
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->rtfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->sfd < 0 || s->tfd < 0 || s->rtfd < 0 || s->ep < 0) {
		log_errno("supervisor loop setup");
		return -1;
	}
	if (s->seclog.fd >= 0 && epoll_watch(s, s->seclog.fd, EV_SECCOMP_LOG) < 0)
		return -1;
	return epoll_watch(s, s->sfd, EV_SIGNAL) < 0 || epoll_watch(s, s->tfd, EV_TIMER) < 0 ||
		       epoll_watch(s, s->rtfd, EV_RESTART) < 0
		       ? -1
		       : 0;
}

static void on_log(struct supervisor *s, size_t k)
{
	if (role_log_drain(&s->roles[k].log, s->plan->roles[k].stderr_rd, 2) < 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->plan->roles[k].stderr_rd, NULL);
}

static void dispatch_role(struct supervisor *s, size_t k, enum role_event what)
{
	switch (what) {
	case EV_PIDFD: on_exit_of(s, k); break;
	case EV_STATUS: on_status(s, k); break;
	case EV_LOG: on_log(s, k); break;
	case EV_DISCARD: on_discard(s, k); break;
	case EV_PER_ROLE: break;
	}
}

static void dispatch(struct supervisor *s, uint64_t tag)
{
	if (tag == EV_SIGNAL)
		on_signal(s);
	else if (tag == EV_TIMER)
		on_deadline(s);
	else if (tag == EV_RESTART)
		on_restart_timer(s);
	else if (tag == EV_PUBLISH)
		status_on_timer(s);
	else if (tag == EV_SEGMENTS)
		segments_on_readable(&s->plan->segments); /* its socket is closed, so unwatched, at the end */
	else if (tag == EV_SECCOMP_LOG)
		seccomp_log_drain_each(&s->seclog, on_seccomp_kill, s);
	else
		dispatch_role(s, (tag - EV_ROLE_BASE) / EV_PER_ROLE, (enum role_event)((tag - EV_ROLE_BASE) % EV_PER_ROLE));
}

static bool any_alive(const struct supervisor *s)
{
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (s->roles[k].alive || (s->phase == RUNNING && s->roles[k].due_ms))
			return true;
	return false;
}

static void run_loop(struct supervisor *s)
{
	while (any_alive(s)) {
		struct epoll_event evs[16];
		int n = epoll_wait(s->ep, evs, 16, -1);
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			run_failed(s, 1);
			for (size_t k = 0; k < s->plan->n_roles; k++)
				signal_role(s, k, SIGKILL);
			return;
		}
		for (int i = 0; i < n; i++)
			dispatch(s, evs[i].data.u64);
	}
}

/* The supervisor's own state holds every role's log line and status bytes
 * on their way through: it lives in memory no role inherits (forkwipe.h). */
static int run_with(struct supervisor *s, struct run_plan *plan)
{
	const struct topology *t = s->t;
	char err[1024];
	size_t ring = t->restart_budget ? t->restart_budget : 1;
	s->restart_times_len = plan->n_roles * ring * sizeof(*s->restart_times);
	s->restart_times = forkwipe_alloc(s->restart_times_len);
	if (!s->restart_times) {
		log_error("out of memory");
		return 1;
	}
	for (size_t k = 0; k < plan->n_roles; k++) {
		s->roles[k].restarts = s->restart_times + k * ring;
		s->roles[k].log.label = plan->roles[k].label;
	}
	int abi = MEMCHECK_BUILD ? 0 : landlock_abi_version();
	if (MEMCHECK_BUILD)
		log_warn("sandbox: memcheck build: roles run WITHOUT seccomp and WITHOUT Landlock "
			 "(for valgrind runs only; see lib/memcheck.h)");
	else if (abi)
		log_info("sandbox: Landlock ABI %d", abi);
	else
		log_warn("sandbox: this kernel has no Landlock; file access is bounded by each role's mount "
			 "namespace alone");
	if (!MEMCHECK_BUILD && seccomp_log_open(&s->seclog, err, sizeof(err)) < 0)
		log_warn("sandbox: %s: a role killed by seccomp will not be told which syscall it made", err);
	if (loop_setup(s) < 0) {
		begin_stop(s, "a role could not start", 1);
	} else {
		status_publish_start(s);
		if (start_roles(s) < 0)
			begin_stop(s, "a role could not start", 1);
	}
	run_loop(s);
	status_publish_stop(s);
	for (size_t k = 0; k < plan->n_roles; k++) {
		while (role_log_drain(&s->roles[k].log, plan->roles[k].stderr_rd, 2) > 0)
			;
		role_log_flush(&s->roles[k].log, 2);
	}
	seccomp_log_close(&s->seclog);
	forkwipe_free(s->restart_times, s->restart_times_len);
	return s->exit_status;
}

int supervise_run(const struct topology *t, const struct run_options *opt)
{
	static struct run_plan plan; /* large; one per process */
	char err[1024];
	if (plan_prepare(&plan, t, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return plan.config_error ? EX_CONFIG_STATUS : 1;
	}
	struct supervisor *s = forkwipe_alloc(sizeof(*s));
	if (!s) {
		log_errno("the supervisor's memory (MADV_WIPEONFORK)");
		plan_release(&plan);
		return 1;
	}
	*s = (struct supervisor){ .t = t, .opt = opt, .plan = &plan, .ep = -1, .sfd = -1, .tfd = -1, .rtfd = -1,
				  .status_dir = -1, .stfd = -1,
				  .seclog = { .fd = -1 } };
	int status = run_with(s, &plan);
	forkwipe_free(s, sizeof(*s));
	plan_release(&plan);
	log_event(status ? LOG_SEV_ERROR : LOG_SEV_INFO, "stopped", "stopped%s", status ? " after a failure" : "");
	return status;
}
