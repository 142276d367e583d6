#define _GNU_SOURCE
/* One epoll loop, no polling: a signalfd for SIGINT/SIGTERM/SIGHUP, a pidfd
 * per role, the status pipe and the log pipe of each role, and a timerfd
 * for stop deadlines.
 * Stop order: the intermediary first (nothing new comes in), then the
 * providers (they drain what is queued and sign a last checkpoint), then
 * the association (it records and fsyncs everything still in its channels). */
#include "supervise.h"

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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../roles/role.h"
#include "landlock.h"
#include "ledger_recover.h"
#include "memcheck.h"
#include "plan.h"
#include "role_log.h"
#include "seccomp.h"
#include "seccomp_log.h"
#include "forkwipe.h"

/* The run's phase: RUNNING, then each stop phase of the role table in turn
 * (role_kinds[].stop_phase, from 1), then stopped. */
#define RUNNING 0u
#define STOPPED (role_stop_phases() + 1)

struct role_state {
	struct role_proc proc;
	bool alive;
	bool ready;
	bool sealed;            /* this incarnation reported 'R': its status fd has nothing more to say */
	bool term_on_ready;     /* its stop phase came before it was ready: SIGTERM once it is */
	bool given_up;          /* a provider past its restart budget: left down */
	bool log_watched;       /* its log pipe is in the epoll set */
	struct role_log log;    /* its stderr, as it reaches the supervisor's */
	uint64_t *restarts;     /* ring of its last restart_budget restart times */
	size_t n_restarts, next_restart;
	uint64_t started_ms;    /* CLOCK_MONOTONIC */
	uint64_t backoff_ms;    /* delay before its next restart */
	uint64_t due_ms;        /* a restart is scheduled for then, or 0 */
	uint8_t buf[512];       /* partial status records */
	size_t len;
};

struct supervisor {
	struct seccomp_log seclog; /* the kernel's records of seccomp kills */
	const struct topology *t;
	const struct run_options *opt;
	struct run_plan *plan;
	struct role_state roles[PLAN_ROLES_MAX];
	int ep, sfd, tfd;
	int rtfd;                    /* restart timer */
	uint64_t *restart_times;     /* every role's restart ring, one allocation (forkwipe: a heap block
				      * whose only pointer a child sees wiped would be a leak to memcheck) */
	size_t restart_times_len;
	unsigned phase;
	bool deadline_deferred;      /* the providers' stop phase waits for the association's rebuild */
	size_t ready;
	int exit_status;
};

#define EV_SIGNAL 0
#define EV_TIMER 1
#define EV_RESTART 2
#define EV_SECCOMP_LOG 3
/* Each role's events: EV_ROLE_BASE + EV_PER_ROLE * k + one of these. */
enum role_event { EV_PIDFD, EV_STATUS, EV_LOG, EV_DISCARD, EV_PER_ROLE };
#define EV_ROLE_BASE 16
#define EV_ROLE(k, what) (EV_ROLE_BASE + EV_PER_ROLE * (uint64_t)(k) + (what))

static int epoll_watch(struct supervisor *s, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

static void notify_systemd(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path))) < 0)
		log_errno("NOTIFY_SOCKET %s", path);
	close(fd);
}

static void on_all_ready(struct supervisor *s)
{
	log_info("ready: intermediary on %s%s, %zu providers, ledger %s", s->t->listen, s->t->http_path,
		 s->t->n_providers, s->t->ledger);
	notify_systemd();
	if (s->opt->ready_fd >= 0) {
		if (write(s->opt->ready_fd, "READY=1\n", 8) != 8)
			log_errno("--ready-fd");
		close(s->opt->ready_fd);
	}
}

static void signal_role(struct supervisor *s, size_t k, int sig)
{
	if (s->roles[k].alive && role_proc_signal(&s->roles[k].proc, sig) < 0 && errno != ESRCH)
		log_errno("signal %s", s->plan->roles[k].label);
}

static const struct role_kind_def *kind_of(const struct supervisor *s, size_t k)
{
	return &role_kinds[s->plan->roles[k].kind];
}

static bool in_phase(const struct supervisor *s, size_t k, unsigned ph)
{
	return kind_of(s, k)->stop_phase == ph;
}

static size_t alive_in_phase(const struct supervisor *s, unsigned ph)
{
	size_t n = 0;
	for (size_t k = 0; k < s->plan->n_roles; k++)
		n += s->roles[k].alive && in_phase(s, k, ph);
	return n;
}

static void arm_deadline(struct supervisor *s)
{
	struct itimerspec its = { .it_value = { .tv_sec = s->opt->drain_ms / 1000,
						.tv_nsec = (long)(s->opt->drain_ms % 1000) * 1000000L } };
	if (timerfd_settime(s->tfd, 0, &its, NULL) < 0)
		log_errno("timerfd_settime");
}

/* A role blocks its stop signal only once it runs its own code: one
 * signalled earlier (the init of its pid namespace ignores it then) would
 * never stop. It is told when it reports ready. */
static void stop_role(struct supervisor *s, size_t k)
{
	if (s->roles[k].alive && !s->roles[k].sealed)
		s->roles[k].term_on_ready = true;
	else
		signal_role(s, k, SIGTERM);
}

/* The association restarted and is still rebuilding from its ledger (it
 * reads all of it, about 18 s per million records): the providers cannot
 * drain into their full signal channels meanwhile. */
static bool ledger_writer_rebuilding(const struct supervisor *s)
{
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (kind_of(s, k)->writes_ledger && s->roles[k].alive && !s->roles[k].sealed)
			return true;
	return false;
}

/* Whether the current phase stops roles that keep a journal: what they
 * drain goes to the ledger's writer. */
static bool phase_drains_into_ledger(const struct supervisor *s)
{
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (in_phase(s, k, s->phase) && kind_of(s, k)->keeps_journal)
			return true;
	return false;
}

/* The drain timeout of the providers' phase starts once the association
 * reads again (or is gone): a stop just after an association restart must
 * not kill providers whose frames only that association can record. */
static void arm_phase_deadline(struct supervisor *s)
{
	if (phase_drains_into_ledger(s) && ledger_writer_rebuilding(s)) {
		struct itimerspec off = { 0 };
		if (timerfd_settime(s->tfd, 0, &off, NULL) < 0) /* the previous phase's */
			log_errno("timerfd_settime");
		if (!s->deadline_deferred)
			log_info("the providers' stop waits for the association to finish its rebuild");
		s->deadline_deferred = true;
		return;
	}
	s->deadline_deferred = false;
	arm_deadline(s);
}

/* Moves to the next phase that still has a live role and signals it. */
static void advance_stop(struct supervisor *s)
{
	while (s->phase != STOPPED && (s->phase == RUNNING || alive_in_phase(s, s->phase) == 0)) {
		s->phase++;
		if (s->phase == STOPPED)
			break;
		for (size_t k = 0; k < s->plan->n_roles; k++)
			if (in_phase(s, k, s->phase))
				stop_role(s, k);
		arm_phase_deadline(s);
	}
}

static int restart_role(struct supervisor *s, size_t k, char *err, size_t errlen);

/* A stop that finds the association or a provider waiting out its restart
 * backoff starts it at once: what its channels hold (artifacts a provider
 * has not signalled, signals the association has not recorded) is handled
 * before the run ends, within the drain timeout of its phase. The
 * intermediary is not: nothing new should come in. */
static void restart_due_for_stop(struct supervisor *s)
{
	char err[512];
	for (size_t k = 0; k < s->plan->n_roles; k++) {
		struct role_state *rs = &s->roles[k];
		if (!rs->due_ms || rs->alive)
			continue;
		rs->due_ms = 0;
		if (!kind_of(s, k)->drains_at_stop)
			continue;
		if (restart_role(s, k, err, sizeof(err)) < 0) {
			log_error("%s: cannot start it to drain its channels%s%s", s->plan->roles[k].label,
				  *err ? ": " : "", err);
			s->exit_status = 1;
			continue;
		}
		log_info("%s started to drain its channels before the stop (pid %d)", s->plan->roles[k].label,
			 rs->proc.pid);
	}
}

static void begin_stop(struct supervisor *s, const char *why, int status)
{
	if (status > s->exit_status)
		s->exit_status = status;
	if (s->phase != RUNNING)
		return;
	log_info("stopping (%s)", why);
	restart_due_for_stop(s);
	advance_stop(s);
}

static void on_deadline(struct supervisor *s)
{
	uint64_t ticks;
	if (read(s->tfd, &ticks, sizeof(ticks)) < 0)
		return;
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (s->roles[k].alive && in_phase(s, k, s->phase)) {
			log_warn("%s did not stop within %u ms: killing it", s->plan->roles[k].label, s->opt->drain_ms);
			signal_role(s, k, SIGKILL);
			s->exit_status = 1;
		}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void arm_restart_timer(struct supervisor *s)
{
	uint64_t next = 0;
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (s->roles[k].due_ms && (!next || s->roles[k].due_ms < next))
			next = s->roles[k].due_ms;
	uint64_t now = now_ms(), wait = next > now ? next - now : 1;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(wait / 1000),
						.tv_nsec = (long)(wait % 1000) * 1000000L } };
	if (next && timerfd_settime(s->rtfd, 0, &its, NULL) < 0)
		log_errno("timerfd_settime");
}

/* At most restart_budget restarts of this role in any minute: its own
 * ring of restart times, so a role that keeps dying spends no other role's
 * budget. */
static bool within_budget(struct supervisor *s, size_t k, uint64_t now)
{
	struct role_state *rs = &s->roles[k];
	size_t budget = s->t->restart_budget;
	if (budget == 0)
		return false;
	if (rs->n_restarts == budget && now - rs->restarts[rs->next_restart] < 60000)
		return false; /* the oldest of the last `budget` restarts is within the minute */
	rs->restarts[rs->next_restart] = now;
	rs->next_restart = (rs->next_restart + 1) % budget;
	if (rs->n_restarts < budget)
		rs->n_restarts++;
	return true;
}

/* The supervisor reads and drops what the intermediary writes to a
 * provider given up on, so the intermediary's channel to it never fills
 * and never stalls the requests meant for the other providers. */
static void give_up_on(struct supervisor *s, size_t k)
{
	const struct role_plan *r = &s->plan->roles[k];
	s->roles[k].given_up = true;
	s->exit_status = 1;
	epoll_watch(s, s->plan->artifact[r->provider].reader, EV_ROLE(k, EV_DISCARD)); /* logs a failure */
	for (size_t j = 0; j < s->plan->n_roles; j++)
		if (s->plan->roles[j].kind == r->kind && !s->roles[j].given_up)
			return;
	begin_stop(s, "every provider was given up on", 1);
}

static void on_discard(struct supervisor *s, size_t k)
{
	uint8_t buf[4096];
	int fd = s->plan->artifact[s->plan->roles[k].provider].reader;
	for (int i = 0; i < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0; i++)
		;
}

/* A role that ended while the run goes on: restarted after a backoff when
 * its policy says so, on the same channels (the supervisor holds them);
 * otherwise the run stops. A role whose sandbox could not be built is never
 * restarted: the next try would fail the same way. A role past its own
 * restart budget stops the run if it is the intermediary or the
 * association (nothing works without either); a provider is given up on
 * and the run goes on with the others. */
static void after_death(struct supervisor *s, size_t k, bool setup_failed)
{
	struct role_state *rs = &s->roles[k];
	const char *label = s->plan->roles[k].label;
	enum topo_restart policy = s->plan->roles[k].spec.limits->restart;
	uint64_t now = now_ms();
	if (setup_failed || policy == RESTART_NEVER) {
		begin_stop(s, "a role ended", 1);
		return;
	}
	if (!within_budget(s, k, now)) {
		bool provider = kind_of(s, k)->may_be_given_up;
		log_error("%s: restart budget exhausted: %u restarts within a minute (restart_budget in [runner], per "
			  "role); %s", label, s->t->restart_budget,
			  provider ? "giving up on it: the run goes on without it" : "stopping the run");
		if (provider)
			give_up_on(s, k);
		else
			begin_stop(s, "restart budget exhausted", 1);
		return;
	}
	if (!rs->backoff_ms || now - rs->started_ms > 30000)
		rs->backoff_ms = s->t->restart_backoff_ms;
	rs->due_ms = now + rs->backoff_ms;
	log_info("%s will restart in %llu ms", label, (unsigned long long)rs->backoff_ms);
	rs->backoff_ms = rs->backoff_ms * 2 > s->t->restart_backoff_max_ms ? s->t->restart_backoff_max_ms
									   : rs->backoff_ms * 2;
	arm_restart_timer(s);
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
		 * (refused from issue 12 on) could still be named here */
		if (r->policy_variant != POLICY_EXEC || r->spec.host_uid != kill->uid ||
		    s->roles[k].proc.pid == kill->pid)
			continue;
		if (kill->native)
			log_warn("%s: seccomp killed pid %d, a program it ran: denied syscall %s (%ld)", r->label,
				 (int)kill->pid, seccomp_syscall_name(kill->nr), kill->nr);
		else
			log_warn("%s: seccomp killed pid %d, a program it ran: a syscall of another architecture",
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
		log_error("%s (pid %d) killed by SIGSYS: a seccomp denial (the kernel's audit log named no "
			  "syscall), or a SIGSYS it raised itself", label, pid);
	else if (!kill.native)
		log_error("%s (pid %d) killed by seccomp: a syscall of another architecture (%ld)", label, pid,
			  kill.nr);
	else
		log_error("%s (pid %d) killed by seccomp: denied syscall %s (%ld)", label, pid,
			  seccomp_syscall_name(kill.nr), kill.nr);
}

static void report_death(struct supervisor *s, size_t k, const siginfo_t *si)
{
	const char *label = s->plan->roles[k].label;
	pid_t pid = s->roles[k].proc.pid;
	if (si->si_code == CLD_EXITED && si->si_status == 0 && s->phase == RUNNING)
		log_error("%s (pid %d) exited with status 0 while the run goes on: a failure", label, pid);
	else if (si->si_code == CLD_EXITED && si->si_status == 0)
		log_info("%s (pid %d) exited", label, pid);
	else if (si->si_code == CLD_EXITED && si->si_status == SPAWN_SETUP_FAILED)
		log_error("%s (pid %d) could not start (see above)", label, pid);
	else if (si->si_code == CLD_EXITED)
		log_error("%s (pid %d) exited with status %d", label, pid, si->si_status);
	else if (si->si_status == SIGSYS)
		report_seccomp_kill(s, label, pid);
	else
		log_error("%s (pid %d) killed by signal %d (%s)", label, pid, si->si_status, strsignal(si->si_status));
}

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
	report_death(s, k, &si);
	if (s->deadline_deferred)
		arm_phase_deadline(s);
	bool clean = si.si_code == CLD_EXITED && si.si_status == 0;
	/* A role never ends on its own while the run goes on: an exit, even
	 * with status 0, is a failure then. */
	if (s->phase == RUNNING)
		after_death(s, k, si.si_code == CLD_EXITED && si.si_status == SPAWN_SETUP_FAILED);
	else if (!clean)
		s->exit_status = 1;
	if (s->phase != RUNNING)
		advance_stop(s);
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
			/* Once in its loop a role has no status to give: what it writes
			 * there now is its own invention (a forged "cannot start"). */
			log_warn("%s wrote %zu bytes to its status fd after it was ready: ignored",
				 s->plan->roles[k].label, left);
			off = rs->len;
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
			if (left < 3 + mlen)
				break;
			/* the role wrote it: escaped like its log lines */
			role_log_escape(b + 3, mlen, msg, sizeof(msg));
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
		log_error("SIGHUP: %s; the running roles keep the topology they started with", err);
		return;
	}
	log_info("SIGHUP: %s checks OK (%zu providers); restart mpbs-run to apply any change", s->t->path,
		 fresh.n_providers);
	topology_free(&fresh);
}

static void on_signal(struct supervisor *s)
{
	struct signalfd_siginfo si;
	if (read(s->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		recheck_topology(s);
		return;
	}
	begin_stop(s, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", 0);
}

static int start_role(struct supervisor *s, size_t k)
{
	char err[512];
	struct role_plan *r = &s->plan->roles[k];
	if (spawn_role(&r->spec, &s->roles[k].proc, err, sizeof(err)) < 0) {
		log_error("%s: cannot start: %s", r->label, err);
		return -1;
	}
	s->roles[k].alive = true;
	s->roles[k].sealed = false;
	s->roles[k].term_on_ready = false;
	s->roles[k].started_ms = now_ms();
	s->roles[k].len = 0;
	close(r->status_wr);
	r->status_wr = -1;
	if (epoll_watch(s, s->roles[k].proc.pidfd, EV_ROLE(k, EV_PIDFD)) < 0 ||
	    epoll_watch(s, r->status_rd, EV_ROLE(k, EV_STATUS)) < 0)
		return -1;
	if (!s->roles[k].log_watched) {
		if (epoll_watch(s, r->stderr_rd, EV_ROLE(k, EV_LOG)) < 0)
			return -1;
		s->roles[k].log_watched = true;
	}
	return 0;
}

/* After the association restarted: each provider sends its journal again
 * (roles/provider/journal.h), so what the dead association read but never recorded
 * comes back. One byte on the provider's control channel, never blocking:
 * requests coalesce, and a full channel already holds one. */
static void ask_providers_to_resend(struct supervisor *s)
{
	for (size_t j = 0; j < s->plan->n_roles; j++) {
		const struct role_plan *r = &s->plan->roles[j];
		if (!kind_of(s, j)->keeps_journal || s->roles[j].given_up)
			continue;
		if (send(s->plan->control[r->provider].writer, "R", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			log_errno("%s: control channel", r->label);
	}
}

/* Restarts every role whose backoff has passed. A restarted association
 * rebuilds itself from the ledger, and the providers send their journals
 * again, so frames it read but never recorded are recorded now. */
/* One restart, whenever it happens (backoff passed, or a stop that needs
 * the role to drain): a fresh status pipe; for the association, the ledger
 * recovered like at the first start, and the providers asked to send their
 * journals again. Returns 0, or -1 with err set (possibly empty: start_role
 * logged it). */
static int restart_role(struct supervisor *s, size_t k, char *err, size_t errlen)
{
	struct ledger_cut cut;
	bool association = kind_of(s, k)->writes_ledger;
	*err = '\0';
	if (plan_renew_status(&s->plan->roles[k], err, errlen) < 0 ||
	    (association && ledger_file_recover(s->plan->ledger_fd, s->t->ledger, &cut, err, errlen) < 0) ||
	    start_role(s, k) < 0)
		return -1;
	if (association)
		ask_providers_to_resend(s);
	return 0;
}

static void on_restart_timer(struct supervisor *s)
{
	uint64_t ticks, now = now_ms();
	char err[512];
	if (read(s->rtfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	for (size_t k = 0; k < s->plan->n_roles && s->phase == RUNNING; k++) {
		struct role_state *rs = &s->roles[k];
		if (!rs->due_ms || rs->due_ms > now)
			continue;
		rs->due_ms = 0;
		if (restart_role(s, k, err, sizeof(err)) < 0) {
			log_error("%s: restart failed%s%s", s->plan->roles[k].label, *err ? ": " : "", err);
			begin_stop(s, "a restart failed", 1);
			return;
		}
		log_info("%s restarted (pid %d)", s->plan->roles[k].label, rs->proc.pid);
	}
	arm_restart_timer(s);
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
			s->exit_status = 1;
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
			 "(for valgrind runs only; see runner/memcheck.h)");
	else if (abi)
		log_info("sandbox: Landlock ABI %d", abi);
	else
		log_warn("sandbox: this kernel has no Landlock; file access is bounded by each role's mount "
			 "namespace alone");
	if (!MEMCHECK_BUILD && seccomp_log_open(&s->seclog, err, sizeof(err)) < 0)
		log_warn("sandbox: %s: a role killed by seccomp will not be told which syscall it made", err);
	if (loop_setup(s) < 0 || start_roles(s) < 0) {
		s->exit_status = 1;
		begin_stop(s, "a role could not start", 1);
	}
	run_loop(s);
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
		return 1;
	}
	struct supervisor *s = forkwipe_alloc(sizeof(*s));
	if (!s) {
		log_errno("the supervisor's memory (MADV_WIPEONFORK)");
		plan_release(&plan);
		return 1;
	}
	*s = (struct supervisor){ .t = t, .opt = opt, .plan = &plan, .ep = -1, .sfd = -1, .tfd = -1, .rtfd = -1,
				  .seclog = { .fd = -1 } };
	int status = run_with(s, &plan);
	forkwipe_free(s, sizeof(*s));
	plan_release(&plan);
	log_info("stopped%s", status ? " after a failure" : "");
	return status;
}
