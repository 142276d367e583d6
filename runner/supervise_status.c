/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What the supervisor tells the outside while it runs: the state file
 * `mpbs-run status` reads (status_file.h), rewritten every second from the
 * roles' live counters, and systemd's notifications through libsystemd
 * (READY=1, STATUS= every few seconds while it changes, RELOADING=1 around
 * the SIGHUP check, STOPPING=1). Neither reaches a role: the counters come
 * in on the roles' status pipes and go no further than here. */
#include "supervise_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "../lib/log.h"
#include "runtime_dir.h"
#include "status_file.h"

/* The state file is rewritten this often; STATUS= at most this often. */
#define STATUS_PERIOD_MS 1000
#define NOTIFY_PERIOD_MS 5000

static uint64_t realtime_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000u;
}

/* Counter i of role k over the whole run: a counter adds up its
 * incarnations, a gauge is what the current one said last. */
static uint64_t role_value(const struct supervisor *s, size_t k, size_t i)
{
	const struct role_counter_list *list = kind_of(s, k)->counters;
	const struct role_state *rs = &s->roles[k];
	return list->defs[i].type == ROLE_GAUGE ? rs->counters[i] : rs->counted_before[i] + rs->counters[i];
}

void status_role_restarts(struct supervisor *s, size_t k)
{
	struct role_state *rs = &s->roles[k];
	for (size_t i = 0; i < ROLE_COUNTERS_MAX; i++) {
		rs->counted_before[i] += rs->counters[i];
		rs->counters[i] = 0;
	}
	rs->restarted++;
}

/* The run's figures that `status` shows first, added up over the roles. */
struct run_totals {
	uint64_t requests, artifacts, signals, confirmed, incomplete, rejected, pending;
};

static void run_totals(const struct supervisor *s, struct run_totals *t)
{
	*t = (struct run_totals){ 0 };
	for (size_t k = 0; k < s->plan->n_roles; k++)
		switch (s->plan->roles[k].kind) {
		case ROLE_INTERMEDIARY: t->requests += role_value(s, k, RC_IM_requests); break;
		case ROLE_PROVIDER: t->artifacts += role_value(s, k, RC_PR_artifacts); break;
		case ROLE_ASSOCIATION:
			t->signals += role_value(s, k, RC_AS_signals);
			t->confirmed += role_value(s, k, RC_AS_confirmed);
			t->incomplete += role_value(s, k, RC_AS_incomplete);
			t->rejected += role_value(s, k, RC_AS_rejected);
			t->pending += role_value(s, k, RC_AS_pending);
			break;
		case ROLE_BRIDGE: /* carries what the others count */
		case ROLE_KINDS: break;
		}
}

static const char *role_state_name(const struct supervisor *s, size_t k)
{
	const struct role_state *rs = &s->roles[k];
	if (rs->alive)
		return rs->sealed ? "running" : "starting";
	if (rs->given_up)
		return "given-up";
	if (rs->due_ms && s->phase == RUNNING)
		return "restarting";
	return "stopped";
}

static json_t *role_json(const struct supervisor *s, size_t k, uint64_t now_real, uint64_t now_mono)
{
	const struct role_plan *r = &s->plan->roles[k];
	const struct role_state *rs = &s->roles[k];
	const struct role_counter_list *list = kind_of(s, k)->counters;
	json_t *counters = json_object();
	for (size_t i = 0; counters && i < list->n; i++)
		json_object_set_new(counters, list->defs[i].name, json_integer((json_int_t)role_value(s, k, i)));
	json_t *role = json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:o*}", "name", r->label, "kind", kind_of(s, k)->name,
				 "comm", r->comm, "pid", rs->alive ? (int)rs->proc.pid : 0, "state",
				 role_state_name(s, k), "restarts", (json_int_t)rs->restarted, "counters", counters);
	if (role && rs->alive)
		json_object_set_new(role, "started_ms",
				    json_integer((json_int_t)(now_real - (now_mono - rs->started_ms))));
	if (role && kind_of(s, k)->per_provider)
		json_object_set_new(role, "provider", json_string(s->t->providers[r->provider].name));
	return role;
}

static json_t *state_json(const struct supervisor *s)
{
	uint64_t now_real = realtime_ms(), now_mono = clock_mono_ms();
	struct run_totals t;
	struct stat st;
	run_totals(s, &t);
	json_int_t ledger_bytes = fstat(s->plan->segments.live_fd, &st) == 0 ? (json_int_t)st.st_size : -1;
	const char *state = s->phase != RUNNING ? "stopping" : s->ready == s->plan->n_roles ? "running" : "starting";
	char *topology = realpath(s->t->path, NULL);
	json_t *roles = json_array();
	for (size_t k = 0; roles && k < s->plan->n_roles; k++)
		json_array_append_new(roles, role_json(s, k, now_real, now_mono));
	json_t *totals = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests", (json_int_t)t.requests,
				   "artifacts", (json_int_t)t.artifacts, "signals", (json_int_t)t.signals,
				   "confirmations", (json_int_t)t.confirmed, "incomplete", (json_int_t)t.incomplete,
				   "rejected", (json_int_t)t.rejected, "pending", (json_int_t)t.pending);
	json_t *j = json_pack("{s:i, s:s, s:i, s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:o*, s:o*}", "version",
			      STATUS_FILE_VERSION, "name", s->status_name, "pid", (int)getpid(), "pid_start",
			      (json_int_t)status_pid_start(getpid()), "topology", topology ? topology : s->t->path,
			      "ledger", s->t->ledger, "ledger_bytes", ledger_bytes, "state", state, "providers",
			      (json_int_t)s->t->n_providers, "started_ms", (json_int_t)s->started_realtime_ms,
			      "updated_ms", (json_int_t)now_real, "totals", totals, "roles", roles);
	free(topology);
	return j;
}

static void publish(struct supervisor *s)
{
	char err[512];
	if (s->status_dir < 0)
		return;
	json_t *j = state_json(s);
	if (!j) {
		log_warn("status: cannot build the state (out of memory)");
		return;
	}
	if (status_file_write(s->status_dir, s->status_name, j, err, sizeof(err)) < 0)
		log_warn("status: %s", err);
	json_decref(j);
}

/* sd_notify without NOTIFY_SOCKET does nothing: a run outside systemd (or
 * under Type=simple) pays nothing. */
static void notify(const char *text)
{
	int rc = sd_notify(0, text);
	if (rc < 0) {
		errno = -rc;
		log_errno("sd_notify");
	}
}

static void status_text(const struct supervisor *s, char *out, size_t cap)
{
	struct run_totals t;
	run_totals(s, &t);
	snprintf(out, cap, "%zu providers; %" PRIu64 " requests, %" PRIu64 " confirmed, %" PRIu64 " pending",
		 s->t->n_providers, t.requests, t.confirmed, t.pending);
}

void notify_ready(struct supervisor *s)
{
	char msg[sizeof(s->notified) + 32];
	status_text(s, s->notified, sizeof(s->notified));
	s->notified_ms = clock_mono_ms();
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", s->notified);
	notify(msg);
	publish(s); /* every role runs: said at once rather than within the second */
}

void notify_stopping(struct supervisor *s, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=stopping (%s)", why);
	notify(msg);
	publish(s);
}

void notify_reloading(struct supervisor *s, bool begin)
{
	char msg[128];
	if (s->ready < s->plan->n_roles || s->phase != RUNNING)
		return; /* not ready yet: no READY=1 to take back */
	if (begin)
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, clock_ns(CLOCK_MONOTONIC) / 1000u);
	else
		snprintf(msg, sizeof(msg), "READY=1");
	notify(msg);
}

void status_on_timer(struct supervisor *s)
{
	uint64_t ticks;
	if (read(s->stfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_errno("status timer");
	publish(s);
	uint64_t now = clock_mono_ms();
	if (s->ready < s->plan->n_roles || s->phase != RUNNING || now - s->notified_ms < NOTIFY_PERIOD_MS)
		return;
	char text[sizeof(s->notified)], msg[sizeof(s->notified) + 16];
	status_text(s, text, sizeof(text));
	if (strcmp(text, s->notified) == 0)
		return;
	memcpy(s->notified, text, sizeof(text));
	s->notified_ms = now;
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	notify(msg);
}

void status_publish_start(struct supervisor *s)
{
	char err[512];
	s->started_realtime_ms = realtime_ms();
	status_file_name(s->t->path, s->t->ledger, s->status_name, sizeof(s->status_name));
	s->status_dir = runtime_dir_open(err, sizeof(err));
	if (s->status_dir < 0) {
		log_warn("status: %s: `mpbs-run status` will not see this run", err);
		return;
	}
	struct itimerspec every = { .it_interval = { STATUS_PERIOD_MS / 1000, (STATUS_PERIOD_MS % 1000) * 1000000L },
				    .it_value = { STATUS_PERIOD_MS / 1000, (STATUS_PERIOD_MS % 1000) * 1000000L } };
	s->stfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->stfd < 0 || timerfd_settime(s->stfd, 0, &every, NULL) < 0 || epoll_watch(s, s->stfd, EV_PUBLISH) < 0) {
		log_errno("status timer");
		close(s->status_dir);
		s->status_dir = -1;
		return;
	}
	publish(s);
}

void status_publish_stop(struct supervisor *s)
{
	if (s->status_dir >= 0) {
		status_file_remove(s->status_dir, s->status_name);
		close(s->status_dir);
		s->status_dir = -1;
	}
	if (s->stfd >= 0)
		close(s->stfd);
	s->stfd = -1;
}
