/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Stopping the run: the roles of each stop phase of the role table are
 * signalled in turn (the intermediary first, so nothing new comes in; the
 * providers, which drain their channels into signals; the association
 * last, which records them), each phase within the drain timeout. */
#include "supervise_internal.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>

#include "../lib/log.h"

void signal_role(struct supervisor *s, size_t k, int sig)
{
	if (s->roles[k].alive && role_proc_signal(&s->roles[k].proc, sig) < 0 && errno != ESRCH)
		log_errno("signal %s", s->plan->roles[k].label);
}

const struct role_kind_def *kind_of(const struct supervisor *s, size_t k)
{
	return &role_kinds[s->plan->roles[k].kind];
}

bool in_phase(const struct supervisor *s, size_t k, unsigned ph)
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
void arm_phase_deadline(struct supervisor *s)
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
void advance_stop(struct supervisor *s)
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
			run_failed(s, 1);
			continue;
		}
		log_info("%s started to drain its channels before the stop (pid %d)", s->plan->roles[k].label,
			 rs->proc.pid);
	}
}

void run_failed(struct supervisor *s, int status)
{
	if (status > s->exit_status)
		s->exit_status = status;
}

void begin_stop(struct supervisor *s, const char *why, int status)
{
	run_failed(s, status);
	if (s->phase != RUNNING)
		return;
	log_event(LOG_SEV_INFO, "stopping", "stopping (%s)", why);
	notify_stopping(s, why);
	restart_due_for_stop(s);
	advance_stop(s);
}

void on_deadline(struct supervisor *s)
{
	uint64_t ticks;
	if (read(s->tfd, &ticks, sizeof(ticks)) < 0)
		return;
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (s->roles[k].alive && in_phase(s, k, s->phase)) {
			log_warn("%s did not stop within %u ms: killing it", s->plan->roles[k].label, s->opt->drain_ms);
			signal_role(s, k, SIGKILL);
			run_failed(s, 1);
		}
}
