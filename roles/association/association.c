/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The association's loop. Per provider it keeps the chain (chain.h) and the
 * signals not yet covered by a checkpoint (frames.c); covered signals feed
 * the pending table; a rule that holds writes `confirmed` (record.c). Each
 * loop iteration ends with one group commit, and confirmations are reported
 * only after it (commit.c). A restart first rebuilds from the ledger
 * (rebuild.c). */
#include "association.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/keys.h"
#include "../../lib/journal.h"
#include "../role.h"
#include "association_internal.h"

#define EVENTS_MAX 68  /* 64 channels, the signalfd, the timer, the syncer, the segments socket */

/* At stop: every channel read dry, then the final commit. */
static int drain_all(struct association *as)
{
	bool more = true;
	while (more) {
		more = false;
		for (size_t i = 0; i < as->cfg->n_providers; i++) {
			bool m;
			if (peer_read_channel(as, i, &m) < 0 || commit_if_large(as) < 0)
				return -1;
			more |= m;
		}
		/* Written pass by pass: what the channels still hold at a stop
		 * (thousands of frames at saturation) would otherwise pile up in
		 * the buffer before one write (it grew to 2 MiB in a bench stop). */
		if (commit_write(as) < 0)
			return -1;
	}
	return commit_final(as);
}

/* What an event of the loop's epoll set comes from: one of the loop's own
 * fds, or provider i's signal channel as LOOP_PROVIDER + i. */
enum loop_source { LOOP_STOP, LOOP_TIMER, LOOP_SYNCED, LOOP_SEGMENTS, LOOP_PROVIDER };

static int watch(int ep, int fd, uint64_t source)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = source };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

static int setup_loop(struct association *as, int sfd, int tfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };
	if (ep < 0 || timerfd_settime(tfd, 0, &every_second, NULL) < 0) {
		log_errno("epoll/timer setup");
		return -1;
	}
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (watch(ep, as->cfg->providers[i].signal_fd, LOOP_PROVIDER + i) < 0)
			return -1;
	if (watch(ep, sfd, LOOP_STOP) < 0 || watch(ep, tfd, LOOP_TIMER) < 0 ||
	    watch(ep, as->sync.done_fd, LOOP_SYNCED) < 0 ||
	    watch(ep, as->cfg->segments_fd, LOOP_SEGMENTS) < 0)
		return -1;
	return ep;
}

/* Its counters to the supervisor when due (role_counters.h): a write on
 * the status fd it holds, nothing read back. Its one-second timer wakes
 * the loop, so a change is reported within about a second. */
static void report_counters_now(struct association *as, bool final)
{
	uint64_t v[RC_AS_COUNT];
	v[RC_AS_signals] = as->signals;
	v[RC_AS_checkpoints] = as->checkpoints;
	v[RC_AS_confirmed] = as->confirmed;
	v[RC_AS_incomplete] = as->incomplete;
	v[RC_AS_rejected] = as->rejected;
	v[RC_AS_pending] = as->pending.used;
	(void)role_counters_tick(&as->counters, v, clock_mono_ms(), final);
}

/* Every second: operations past pending_timeout are closed. */
static int on_timer(struct association *as, int tfd)
{
	uint64_t ticks;
	if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_errno("timerfd");
	return record_expire_aged(as);
}

static int loop(struct association *as, int sfd, int tfd, const struct role_seal *seal)
{
	int ep = setup_loop(as, sfd, tfd);
	if (ep < 0)
		return -1;
	if (role_counters_init(&as->counters, as->cfg->status_fd, RC_AS_COUNT) < 0 ||
	    role_seal_and_report(seal, as->cfg->status_fd) < 0)
		return -1;
	/* Start-up ran code the loop never runs again (sandbox set-up, the
	 * filter's compilation, the ledger check and rebuild): out of the
	 * resident set with it. A failure is logged and changes nothing else. */
	(void)role_release_startup_code();
	for (;;) {
		struct epoll_event evs[EVENTS_MAX];
		int k = epoll_wait(ep, evs, EVENTS_MAX, -1);
		if (k < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return -1;
		}
		for (int i = 0; i < k; i++) {
			uint64_t source = evs[i].data.u64;
			bool more;
			switch (source) {
			case LOOP_STOP:
				if (role_stop_requested(sfd))
					return drain_all(as);
				break;
			case LOOP_TIMER:
				if (on_timer(as, tfd) < 0)
					return -1;
				break;
			case LOOP_SYNCED:
				if (commit_on_synced(as) < 0)
					return -1;
				break;
			case LOOP_SEGMENTS:
				if (segments_on_message(as) < 0)
					return -1;
				break;
			default: /* LOOP_PROVIDER + i */
				if (peer_read_channel(as, source - LOOP_PROVIDER, &more) < 0 || commit_if_large(as) < 0)
					return -1;
			}
		}
		if (commit_round(as) < 0)
			return -1;
		report_counters_now(as, false);
	}
}

/* Every peer's resend ring, then every peer's queue of uncovered signals,
 * in one private anonymous mapping: the kernel gives a page on its first
 * touch, so a ring becomes resident as its provider's signals arrive and the
 * queues only as deep as checkpoints let them grow. calloc gave no such
 * promise: a block it takes from the heap it clears, and the 64 queues of
 * 8 KiB each (checkpoint_every 256) were 528 KiB resident from the start,
 * pushing the association with 64 providers past 4 MiB at its seal. */
static int peers_init(struct association *as)
{
	size_t n = as->cfg->n_providers, total = n * RECENT_SLOTS * sizeof(uint32_t);
	as->peers = calloc(n, sizeof(*as->peers));
	if (!as->peers)
		return -1;
	for (size_t i = 0; i < n; i++)
		total += (size_t)as->cfg->providers[i].checkpoint_every * sizeof(struct l2_uncovered);
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	as->peer_pages = m;
	as->peer_pages_len = total;
	uint32_t *rings = m;
	struct l2_uncovered *queues = (struct l2_uncovered *)(void *)(rings + n * RECENT_SLOTS);
	for (size_t i = 0; i < n; i++) {
		struct peer *pr = &as->peers[i];
		pr->cfg = &as->cfg->providers[i];
		chain_init(&pr->chain);
		pr->recent_chain = rings + i * RECENT_SLOTS;
		pr->queue = queues;
		queues += pr->cfg->checkpoint_every;
	}
	return 0;
}

static void peers_free(struct association *as)
{
	if (as->peer_pages && munmap(as->peer_pages, as->peer_pages_len) < 0)
		log_errno("munmap of the peers' rings");
	free(as->peers);
}

int association_main(const struct association_config *cfg, const struct role_seal *seal)
{
	struct association as = { .cfg = cfg, .spare_fd = -1 };
	char err[512];
	int status = 1;
	int sfd = role_stop_signalfd();
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (sfd < 0 || tfd < 0 || sodium_init() < 0 || peers_init(&as) < 0 ||
	    pending_init(&as.pending, cfg->n_providers, cfg->pending_max) < 0) {
		log_errno("cannot initialise");
		goto out;
	}
	/* Read now: once sealed it opens no file. */
	if (keys_load_signal_secret(cfg->head_key_path, as.head_sk, err, sizeof(err)) < 0) {
		log_error("head-signing key: %s", err);
		goto out;
	}
	/* Seeded here: unseeded, jansson's first object reads /dev/urandom,
	 * which the sealed association can no longer open. */
	json_object_seed(randombytes_random());
	if (l2_writer_init(&as.ledger, cfg->ledger_fd) < 0) {
		log_errno("ledger writer");
		goto out;
	}
	/* The supervisor cut any torn tail before this start: what is left
	 * and does not read is tampering or corruption, reported by the
	 * rebuild once and never restarted. */
	int rebuilt = rebuild_from_ledger(&as);
	if (rebuilt != 0) {
		if (rebuilt > 0)
			status = rebuilt;
		goto out_ledger;
	}
	/* What an earlier run left after its last head is covered by the next. */
	as.head_record_seq = as.ledger.records;
	if (syncer_start(&as.sync, as.ledger.fd, 0) < 0) {
		log_errno("ledger syncer");
		goto out_ledger;
	}
	if (loop(&as, sfd, tfd, seal) == 0)
		status = 0;
	if (as.counters.n)
		report_counters_now(&as, true);
	log_info("stopped: %" PRIu64 " confirmed, %" PRIu64 " incomplete, %" PRIu64 " rejected, %u pending",
		 as.confirmed, as.incomplete, as.rejected, as.pending.used);
	for (size_t i = 0; i < cfg->n_providers; i++)
		if (as.peers[i].resent || as.peers[i].held)
			log_info("provider %s: %" PRIu64 " frames it sent again were already recorded, %" PRIu64
				 " held back behind a gap until they came again", cfg->providers[i].name,
				 as.peers[i].resent, as.peers[i].held);
	if (as.last_head.seq > 0) {
		char head[LEDGER_HEAD_TEXT_MAX];
		ledger_head_format(&as.last_head, head);
		log_info("last signed head %s (keep it elsewhere: mpbs-run verify --expect-head %s)", head, head);
	}
out_ledger:
	syncer_stop(&as.sync);
	l2_writer_free(&as.ledger);
	if (as.spare_fd >= 0)
		close(as.spare_fd);
out:
	sodium_memzero(as.head_sk, sizeof(as.head_sk));
	pending_free(&as.pending);
	peers_free(&as);
	free(as.report);
	return status;
}
