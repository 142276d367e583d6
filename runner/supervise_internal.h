/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor's state, shared by its loop (supervise.c), its stop
 * (supervise_stop.c) and its restarts (supervise_restart.c). Nothing
 * outside those three sees it. */
#ifndef MPBS_SUPERVISE_INTERNAL_H
#define MPBS_SUPERVISE_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/clock.h"
#include "../roles/role.h"
#include "../roles/role_counters.h"
#include "plan.h"
#include "role_log.h"
#include "seccomp_log.h"
#include "supervise.h"

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
	uint8_t buf[ROLE_STATUS_RECORD_MAX]; /* partial status records */
	size_t len;
	uint64_t restarted;     /* restarts since the run began */
	/* Its live counters (roles/role_counters.h): the last record of this
	 * incarnation, and what its earlier incarnations counted. */
	uint64_t counters[ROLE_COUNTERS_MAX];
	uint64_t counted_before[ROLE_COUNTERS_MAX];
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
	/* What it publishes (supervise_status.c): its state file in the
	 * runtime directory, and its STATUS= for systemd. */
	int status_dir;              /* the runtime directory, or -1: nothing is published */
	char status_name[128];       /* the state file's name there */
	int stfd;                    /* the publishing timer: every STATUS_PERIOD_MS */
	uint64_t started_realtime_ms;
	uint64_t notified_ms;        /* last STATUS= sent */
	char notified[160];
};

#define EV_SIGNAL 0
#define EV_TIMER 1
#define EV_RESTART 2
#define EV_SECCOMP_LOG 3
#define EV_PUBLISH 4
#define EV_SEGMENTS 5 /* the supervisor's end of the segments socket (runner/segments.h) */
/* Each role's events: EV_ROLE_BASE + EV_PER_ROLE * k + one of these. */
enum role_event { EV_PIDFD, EV_STATUS, EV_LOG, EV_DISCARD, EV_PER_ROLE };
#define EV_ROLE_BASE 16
#define EV_ROLE(k, what) (EV_ROLE_BASE + EV_PER_ROLE * (uint64_t)(k) + (what))

/* supervise.c */
int epoll_watch(struct supervisor *s, int fd, uint64_t tag);
int start_role(struct supervisor *s, size_t k);

/* supervise_stop.c: the stop, phase by phase, in the role table's order */
const struct role_kind_def *kind_of(const struct supervisor *s, size_t k);
bool in_phase(const struct supervisor *s, size_t k, unsigned ph);
void signal_role(struct supervisor *s, size_t k, int sig);
void arm_phase_deadline(struct supervisor *s);
void advance_stop(struct supervisor *s);
void begin_stop(struct supervisor *s, const char *why, int status);
void on_deadline(struct supervisor *s);

/* supervise_status.c: the state file of `mpbs-run status` and systemd's
 * notifications */
void status_publish_start(struct supervisor *s);
void status_on_timer(struct supervisor *s);
void status_publish_stop(struct supervisor *s);
/* A role starts again: what it counted so far is kept apart. */
void status_role_restarts(struct supervisor *s, size_t k);
void notify_ready(struct supervisor *s);
void notify_stopping(struct supervisor *s, const char *why);
void notify_reloading(struct supervisor *s, bool begin);

/* How a role's process ended while the run goes on, as after_death weighs
 * it. A setup failure or a configuration error is believed only before the
 * role reported ready: a role in its loop exiting with those statuses is
 * just failing. */
enum role_end {
	ROLE_END_FAILED,       /* exited, crashed or was killed */
	ROLE_END_SETUP_FAILED, /* SPAWN_SETUP_FAILED: its sandbox could not be built (roles/role.h) */
	ROLE_END_BAD_CONFIG,   /* ROLE_CONFIG_INVALID: its own configuration is wrong (roles/role.h) */
};

/* supervise_restart.c: restarts, their budget and backoff, giving up */
void on_discard(struct supervisor *s, size_t k);
void after_death(struct supervisor *s, size_t k, enum role_end how);
/* The run's exit status becomes status unless it is already worse (higher):
 * a configuration error (78) found first is not hidden by the failures of
 * the stop it causes. */
void run_failed(struct supervisor *s, int status);
int restart_role(struct supervisor *s, size_t k, char *err, size_t errlen);
void on_restart_timer(struct supervisor *s);

#endif
