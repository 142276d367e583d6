/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's loop and start-up: it loads its policy and key inside its
 * own sandbox, resumes or opens its epoch, then serves artifacts (artifacts.c),
 * the checkpoint timer (emit.c), running handlers (initiate.c) and the
 * supervisor's requests (resend.c) until a stop, which still drains the
 * queued artifacts and waits for running handlers. */
#include "provider.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/clock.h"
#include "../../lib/keys.h"
#include "../../lib/log.h"
#include "../role.h"
#include "provider_internal.h"

#define KEYS_DIR_IN_SANDBOX "/keys"

int provider_watch(struct provider *p, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

/* Its policy and keys, read before it seals itself. Returns 0, or the
 * status to exit with: what the operator must fix in its own files (its
 * policy, the topology's section it does not fit, its key) is said to the
 * supervisor as a configuration error, which no restart repairs; anything
 * else is a plain failure (logged). */
static int load_private_state(struct provider *p)
{
	char err[512];
	const struct provider_config *cfg = p->cfg;
	const struct policy_read how = { .keys_dir = KEYS_DIR_IN_SANDBOX, .shown_as = cfg->policy_shown,
					 .provider = cfg->name, .receive_body = cfg->receive_body, .exec = cfg->exec };

	if (provider_policy_read(&p->policy, cfg->policy_path, &how, err, sizeof(err)) < 0)
		return role_report_bad_config(cfg->status_fd, err);
	if (provider_policy_needs_exec(&p->policy) &&
	    exec_domain_prepare(cfg->program_rules, cfg->n_program_rules, cfg->weaken_program_landlock, err,
				sizeof(err)) < 0) {
		log_error("the programs' Landlock domain: %s", err);
		return 1;
	}
	if (keys_load_signal_secret(cfg->secret_key_path, p->sk, err, sizeof(err)) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "signal key: %s", err);
		return role_report_bad_config(cfg->status_fd, why);
	}
	if (decider_init(&p->decider, &p->policy, cfg->name) < 0) {
		log_errno("replay cache");
		return 1;
	}
	return 0;
}

/* Its counters to the supervisor when due (role_counters.h): a write on
 * the status fd it holds, nothing read back. Returns the ms until the next
 * report is due, or -1. */
static int report_counters_now(struct provider *p, bool final)
{
	uint64_t v[RC_PR_COUNT] = { 0 };
	v[RC_PR_artifacts] = p->artifacts;
	for (int i = 0; i < REFUSE_COUNT; i++)
		v[RC_PR_refused] += p->decider.refused[i];
	v[RC_PR_initiated] = p->initiated;
	v[RC_PR_signals] = p->signals;
	v[RC_PR_checkpoints] = p->checkpoints;
	return role_counters_tick(&p->counters, v, clock_mono_ms(), final);
}

/* Kills handlers past their deadline; returns how long epoll may sleep:
 * until the next deadline or the next report of its counters, whichever
 * comes first. */
static int next_wait_ms(struct provider *p, int report_in_ms)
{
	uint64_t now = clock_mono_ms(), next = UINT64_MAX;
	for (uint32_t i = 0; p->running && i < p->policy.max_concurrent; i++) {
		struct handler *h = &p->handlers[i];
		if (!h->used || h->run.timed_out)
			continue;
		exec_enforce_deadline(&h->run, now);
		if (!h->run.timed_out && h->run.deadline_ms < next)
			next = h->run.deadline_ms;
	}
	int wait = next == UINT64_MAX ? -1 : (int)(next - now + 1);
	return wait < 0 || (report_in_ms >= 0 && report_in_ms < wait) ? report_in_ms : wait;
}

static int dispatch(struct provider *p, uint64_t tag, uint32_t events, bool *stop)
{
	if (tag == TAG_STOP) {
		int sig = role_read_signal(p->stop_fd);
		*stop = *stop || sig == SIGTERM || sig == SIGINT;
		return 0;
	}
	if (tag == TAG_CONTROL)
		return resend_if_asked(p);
	if (tag == TAG_ARTIFACT) {
		int rc = drain_artifacts(p);
		if (rc == 0 && (events & EPOLLHUP))
			artifact_channel_shut(p);
		return rc;
	}
	if (tag == TAG_TIMER)
		return on_checkpoint_timer(p);
	struct handler *h = &p->handlers[(tag - TAG_HANDLER(0)) / 2];
	if ((tag - TAG_HANDLER(0)) % 2 == 0)
		return handler_done(p, h);
	exec_read_output(&h->run);
	return 0;
}

static int loop_setup(struct provider *p)
{
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (p->ep < 0) {
		log_errno("epoll_create1");
		return -1;
	}
	if (provider_watch(p, p->cfg->artifact_fd, TAG_ARTIFACT) < 0 || provider_watch(p, p->stop_fd, TAG_STOP) < 0 ||
	    provider_watch(p, p->timer_fd, TAG_TIMER) < 0 || provider_watch(p, p->cfg->control_fd, TAG_CONTROL) < 0)
		return -1;
	return 0;
}

/* Until a stop is asked: then the queued artifacts are still handled and
 * running handlers finish (the supervisor's drain deadline bounds this). */
static int loop(struct provider *p, const struct role_seal *seal)
{
	bool stop = false;
	int report_in_ms = -1;
	if (loop_setup(p) < 0 || role_counters_init(&p->counters, p->cfg->status_fd, RC_PR_COUNT) < 0 ||
	    role_seal_and_report(seal, p->cfg->status_fd) < 0)
		return -1;
	/* The loop never runs start-up's code again (role.h); a failure is
	 * logged and changes nothing else. */
	(void)role_release_startup_code();
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(p->ep, evs, 16, next_wait_ms(p, report_in_ms));
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return -1;
		}
		/* The checkpoint timer last: artifacts that came with it are
		 * read first and covered by it (drain_artifacts). */
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 != TAG_TIMER && dispatch(p, evs[i].data.u64, evs[i].events, &stop) < 0)
				return -1;
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 == TAG_TIMER && dispatch(p, evs[i].data.u64, evs[i].events, &stop) < 0)
				return -1;
		if (flush_frames(p) < 0)
			return -1;
		report_in_ms = report_counters_now(p, false);
		if (stop) {
			/* a request that came with the stop: the association
			 * restarted just before, and must get what it lost */
			if (resend_if_asked(p) < 0)
				return -1;
			if (epoll_ctl(p->ep, EPOLL_CTL_DEL, p->cfg->artifact_fd, NULL) == 0 &&
			    (drain_artifacts(p) < 0 || flush_frames(p) < 0))
				return -1;
			if (p->running == 0)
				return 0;
		}
	}
}

static int provider_init(struct provider *p)
{
	/* Unseeded, jansson's first object (a token) reads /dev/urandom, which
	 * the sealed provider cannot open. */
	json_object_seed(randombytes_random());
	if (p->policy.action == POLICY_ACTION_EXEC) {
		p->handlers = calloc(p->policy.max_concurrent, sizeof(*p->handlers));
		if (!p->handlers) {
			log_errno("handler slots");
			return -1;
		}
	}
	/* Peeking steps from one artifact to the next only with a peek
	 * offset; set here, it also forgets where a killed incarnation was. */
	int zero = 0;
	if (setsockopt(p->cfg->artifact_fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		log_errno("SO_PEEK_OFF on the artifact channel");
		return -1;
	}
	int found = journal_open(&p->journal, p->cfg->journal_fd);
	if (found < 0) {
		log_errno("journal");
		return -1;
	}
	return found ? resume_from_journal(p) : start_epoch(p);
}

int provider_main(const struct provider_config *cfg, const struct role_seal *seal)
{
	struct provider p = { .cfg = cfg, .timer_fd = -1, .ep = -1, .random_used = sizeof(p.random_pool) };
	int status = 1;

	_Static_assert(sizeof(p.wire_name) == sizeof(((struct signal_frame *)0)->provider) &&
			       sizeof(p.wire_name) == sizeof(((struct checkpoint_frame *)0)->provider),
		       "a frame's provider field");
	snprintf(p.wire_name, sizeof(p.wire_name), "%s", cfg->name);
	p.stop_fd = role_stop_signalfd();
	p.frame_cap = ARTIFACT_FRAME_MAX(cfg->max_request);
	p.frames = malloc(PEEK_MSGS * p.frame_cap);
	p.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p.stop_fd < 0 || !p.frames || p.timer_fd < 0 || sodium_init() < 0) {
		log_errno("cannot initialise");
		goto out;
	}
	int unloaded = load_private_state(&p);
	if (unloaded != 0) {
		status = unloaded;
		goto out;
	}
	if (provider_init(&p) < 0)
		goto out;
	if (flush_frames(&p) == 0 && loop(&p, seal) == 0 && (p.seq == p.covered_seq || emit_checkpoint(&p) == 0) &&
	    flush_frames(&p) == 0)
		status = 0;
	if (p.counters.n)
		report_counters_now(&p, true);
	decider_report(&p.decider, p.initiated);
	if (p.recognised || p.resent)
		log_info("after restarts: %" PRIu64 " artifacts found already signalled, %" PRIu64
			 " journal frames sent again", p.recognised, p.resent);
out:
	sodium_memzero(p.sk, sizeof(p.sk));
	sodium_memzero(p.random_pool, sizeof(p.random_pool));
	decider_free(&p.decider);
	provider_policy_free(&p.policy);
	free(p.handlers);
	free(p.recent);
	free(p.frames);
	return status;
}
