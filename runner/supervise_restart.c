/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* A role that ends while the run goes on: restarted after a backoff, on
 * the same channels, within its own restart budget; past it given up on or
 * the run stopped (the role table says which). */
#include "supervise_internal.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"

static void arm_restart_timer(struct supervisor *s)
{
	uint64_t next = 0;
	for (size_t k = 0; k < s->plan->n_roles; k++)
		if (s->roles[k].due_ms && (!next || s->roles[k].due_ms < next))
			next = s->roles[k].due_ms;
	uint64_t now = clock_mono_ms(), wait = next > now ? next - now : 1;
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
static void give_up_on(struct supervisor *s, size_t k, int status)
{
	const struct role_plan *r = &s->plan->roles[k];
	s->roles[k].given_up = true;
	run_failed(s, status);
	epoll_watch(s, s->plan->artifact[r->provider].reader, EV_ROLE(k, EV_DISCARD)); /* logs a failure */
	for (size_t j = 0; j < s->plan->n_roles; j++)
		if (s->plan->roles[j].kind == r->kind && !s->roles[j].given_up)
			return;
	begin_stop(s, "every provider was given up on", status);
}

void on_discard(struct supervisor *s, size_t k)
{
	uint8_t buf[4096];
	int fd = s->plan->artifact[s->plan->roles[k].provider].reader;
	for (int i = 0; i < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0; i++)
		;
}

/* A role whose own configuration is wrong (a provider's policy does not
 * load: its file, line and key were logged from its 'E' record). No restart
 * repairs it, so it is never restarted. Found while the run starts (not
 * every role has been ready yet), the run refuses to start: everything is
 * stopped and it exits 78, as a bad topology does, so the operator (and
 * systemd's RestartPreventExitStatus=78) sees a configuration error rather
 * than a run that is half up and restarting a role forever. Found on a later
 * restart (its policy was edited while the run served), a provider is given
 * up on as if past its restart budget: the others keep serving what they
 * accept, and the run will still exit 78 when it stops. A role that cannot
 * be given up on stops the run with 78. */
static void after_bad_config(struct supervisor *s, size_t k)
{
	const char *label = s->plan->roles[k].label;
	if (s->ready < s->plan->n_roles) {
		log_event(LOG_SEV_ERROR, "config-error", "%s: a configuration error at start: the run does not start",
			  label);
		begin_stop(s, "a configuration error", EX_CONFIG_STATUS);
	} else if (kind_of(s, k)->may_be_given_up) {
		log_event(LOG_SEV_ERROR, "config-error",
			  "%s: a configuration error no restart repairs: giving up on it; the run goes on without it",
			  label);
		give_up_on(s, k, EX_CONFIG_STATUS);
	} else {
		begin_stop(s, "a configuration error", EX_CONFIG_STATUS);
	}
}

/* A role that ended while the run goes on: restarted after a backoff when
 * its policy says so, on the same channels (the supervisor holds them);
 * otherwise the run stops. A role whose sandbox could not be built is never
 * restarted: the next try would fail the same way; nor is one whose own
 * configuration is wrong (after_bad_config). A role past its own
 * restart budget stops the run if it is the intermediary or the
 * association (nothing works without either); a provider is given up on
 * and the run goes on with the others. */
void after_death(struct supervisor *s, size_t k, enum role_end how)
{
	struct role_state *rs = &s->roles[k];
	const char *label = s->plan->roles[k].label;
	enum topo_restart policy = s->plan->roles[k].spec.limits->restart;
	uint64_t now = clock_mono_ms();
	if (how == ROLE_END_BAD_CONFIG) {
		after_bad_config(s, k);
		return;
	}
	if (how == ROLE_END_SETUP_FAILED || policy == RESTART_NEVER) {
		begin_stop(s, "a role ended", 1);
		return;
	}
	if (!within_budget(s, k, now)) {
		bool provider = kind_of(s, k)->may_be_given_up;
		log_event(LOG_SEV_ERROR, "give-up",
			  "%s: restart budget exhausted: %u restarts within a minute (restart_budget in [runner], per "
			  "role); %s",
			  label, s->t->restart_budget,
			  provider ? "giving up on it: the run goes on without it" : "stopping the run");
		if (provider)
			give_up_on(s, k, 1);
		else
			begin_stop(s, "restart budget exhausted", 1);
		return;
	}
	if (!rs->backoff_ms || now - rs->started_ms > 30000)
		rs->backoff_ms = s->t->restart_backoff_ms;
	rs->due_ms = now + rs->backoff_ms;
	log_event(LOG_SEV_INFO, "restart-due", "%s will restart in %llu ms", label, (unsigned long long)rs->backoff_ms);
	rs->backoff_ms = rs->backoff_ms * 2 > s->t->restart_backoff_max_ms ? s->t->restart_backoff_max_ms
									   : rs->backoff_ms * 2;
	arm_restart_timer(s);
}

/* After the association restarted: each provider sends its journal again
 * (lib/journal.h), so what the dead association read but never recorded
 * comes back. One byte on the provider's control channel, never blocking:
 * requests coalesce, and a full channel already holds one. */
static void ask_providers_to_resend(struct supervisor *s)
{
	for (size_t j = 0; j < s->plan->n_roles; j++) {
		const struct role_plan *r = &s->plan->roles[j];
		if (!kind_of(s, j)->keeps_journal || s->roles[j].given_up)
			continue;
		if (r->control_writer >= 0 && send(r->control_writer, "R", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
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
int restart_role(struct supervisor *s, size_t k, char *err, size_t errlen)
{
	bool association = kind_of(s, k)->writes_ledger;
	*err = '\0';
	status_role_restarts(s, k);
	if (plan_renew_status(&s->plan->roles[k], err, errlen) < 0)
		return -1;
	if (association) {
		/* The segments reconciled and the live one's torn tail cut, as at
		 * the first start, and a fresh segments socket. */
		int rc = segments_prepare(&s->plan->segments, err, errlen);
		if (rc == SEGMENTS_REFUSED)
			run_failed(s, EX_CONFIG_STATUS);
		if (rc != 0)
			return -1;
		plan_association_segments(s->plan, &s->plan->roles[k]);
	}
	if (start_role(s, k) < 0)
		return -1;
	if (association)
		ask_providers_to_resend(s);
	return 0;
}

void on_restart_timer(struct supervisor *s)
{
	uint64_t ticks, now = clock_mono_ms();
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
		log_event(LOG_SEV_INFO, "restart", "%s restarted (pid %d)", s->plan->roles[k].label, rs->proc.pid);
	}
	arm_restart_timer(s);
}
