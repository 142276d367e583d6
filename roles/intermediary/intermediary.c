/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary: its loop and start-up. One epoll set watches the
 * listener, every connection (conn.c) and the stop signalfd; a turn reads
 * what is ready, writes the turn's artifacts (channels.c), then the
 * answers, and waits while an artifact channel is congested. A stop
 * finishes the requests under way. */
#include "intermediary.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../role.h"
#include "intermediary_internal.h"

/* How long a stop waits for requests under way. */
#define DRAIN_MS 2000

/* Tags of the role's own event sources in its epoll set; every other event
 * carries a connection. */
static char TAG_SIGNALS, TAG_LISTENER;

#define EVENTS_MAX 256
/* The longest the loop sleeps: deadlines are looked at in between. */
#define WAIT_MAX_MS 1000

int intermediary_turn(struct intermediary *im, int sfd, int timeout_ms)
{
	struct epoll_event evs[EVENTS_MAX];
	int n = epoll_wait(im->ep, evs, EVENTS_MAX, conns_timeout_ms(im, timeout_ms));
	if (n < 0 && errno != EINTR) {
		log_errno("epoll_wait");
		return -1;
	}
	int stop = 0;
	for (int i = 0; i < n; i++) {
		void *tag = evs[i].data.ptr;
		if (tag == &TAG_SIGNALS && role_stop_requested(sfd)) {
			/* at once: this turn's wait for the channels must not
			 * wait for the stop signal it has just read */
			stop = 1;
			conns_stop_accepting(im);
		}
		else if (tag == &TAG_LISTENER)
			conns_accept(im);
		else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(im, tag);
		if (tag != &TAG_SIGNALS && tag != &TAG_LISTENER && (evs[i].events & EPOLLOUT))
			conn_writable(im, tag);
	}
	/* The artifacts first, then the answers: no 204 before its artifact. */
	batch_flush(im);
	conns_write(im);
	conns_resume(im);
	conns_expire(im, clock_mono_ms());
	wait_for_channels(im);
	return stop;
}

/* Stop: accept nothing new, finish the requests under way, then return.
 * Idle keep-alive connections hold no request and are not waited for; a
 * request still unfinished after DRAIN_MS belongs to a slow or hostile
 * client and is abandoned, so a stop stays a clean exit. */
static int drain(struct intermediary *im, int sfd)
{
	conns_stop_accepting(im);
	uint64_t t0 = clock_mono_ms();
	while (im->in_flight > 0 || im->dirty || im->n_batch) {
		if (clock_mono_ms() - t0 > DRAIN_MS) {
			log_info("stop: abandoning %u unfinished requests after %d ms", im->in_flight, DRAIN_MS);
			return 0;
		}
		if (intermediary_turn(im, sfd, 100) < 0)
			return 1;
	}
	return 0;
}

/* Its counters, in the layout of role_counters.h. */
static void counters_of(const struct intermediary *im, uint64_t v[RC_IM_COUNT])
{
	uint64_t fwd = 0, full = 0, failed = 0;
	for (size_t i = 0; i < im->cfg->n_providers; i++) {
		fwd += im->per_provider[i].forwarded;
		full += im->per_provider[i].dropped_full;
		failed += im->per_provider[i].failed;
	}
	v[RC_IM_requests] = im->requests;
	v[RC_IM_oversize] = im->oversize;
	v[RC_IM_bad_header] = im->bad_header;
	v[RC_IM_timed_out] = im->timed_out;
	v[RC_IM_half_closed] = im->half_closed;
	v[RC_IM_artifacts_written] = fwd;
	v[RC_IM_artifacts_dropped] = full;
	v[RC_IM_artifacts_failed] = failed;
	v[RC_IM_stalls] = im->stalls;
}

/* Its counters to the supervisor when due (role_counters.h): a write on
 * the status fd it holds, nothing read back. Returns the ms until the next
 * report is due, or -1. */
static int report_counters_now(struct intermediary *im, bool final)
{
	uint64_t v[RC_IM_COUNT];
	counters_of(im, v);
	return role_counters_tick(&im->counters, v, clock_mono_ms(), final);
}

/* The earlier of two epoll timeouts (-1: none). */
static int sooner_ms(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static int serve(struct intermediary *im, int sfd, const struct role_seal *seal)
{
	if (role_counters_init(&im->counters, im->cfg->status_fd, RC_IM_COUNT) < 0 ||
	    role_seal_and_report(seal, im->cfg->status_fd) < 0)
		return 1;
	/* The loop never runs start-up's code again (role.h); a failure is
	 * logged and changes nothing else. */
	(void)role_release_startup_code();
	int report_in_ms = -1;
	for (;;) {
		int turn = intermediary_turn(im, sfd, sooner_ms(WAIT_MAX_MS, report_in_ms));
		if (turn < 0)
			return 1;
		if (turn > 0)
			return drain(im, sfd);
		report_in_ms = report_counters_now(im, false);
	}
}

static void report_counters(const struct intermediary *im)
{
	uint64_t v[RC_IM_COUNT];
	counters_of(im, v);
	log_info("stopped: %" PRIu64 " requests, %" PRIu64 " oversize, %" PRIu64 " bad headers, %" PRIu64
		 " connections past their read deadline, %" PRIu64 " closed half-closed, %" PRIu64
		 " artifacts written, %" PRIu64 " dropped on a full channel, %" PRIu64 " failed, %" PRIu64
		 " waits for a congested channel, %" PRIu64 " connections over a cap closed at once",
		 v[RC_IM_requests], v[RC_IM_oversize], v[RC_IM_bad_header], v[RC_IM_timed_out],
		 v[RC_IM_half_closed], v[RC_IM_artifacts_written], v[RC_IM_artifacts_dropped],
		 v[RC_IM_artifacts_failed], v[RC_IM_stalls], im->refused);
}

/* Everything the loop needs, made before the seal: after it the role can
 * allocate, but not create an epoll set or a signalfd. */
bool intermediary_open(struct intermediary *im, const struct intermediary_config *cfg, int sfd)
{
	*im = (struct intermediary){ .cfg = cfg, .ep = -1 };
	deadlines_init(&im->deadlines, (uint64_t)cfg->header_timeout_s * 1000, (uint64_t)cfg->body_timeout_s * 1000,
		       (uint64_t)cfg->timeout_s * 1000);
	im->per_provider = calloc(cfg->n_providers, sizeof(*im->per_provider));
	/* one per provider, then the stop signalfd (wait_for_channels) */
	im->channels = calloc(cfg->n_providers + 1, sizeof(*im->channels));
	im->wait_fds = calloc(cfg->n_providers + 1, sizeof(*im->wait_fds));
	im->blocking = calloc(cfg->n_providers, sizeof(*im->blocking));
	im->batch = calloc(BATCH_MAX, sizeof(*im->batch));
	im->msgs = calloc(BATCH_MAX, sizeof(*im->msgs));
	im->iov = calloc(4 * BATCH_MAX, sizeof(*im->iov));
	im->msg_frames = calloc(BATCH_MAX, sizeof(*im->msg_frames));
	if (!im->per_provider || !im->channels || !im->wait_fds || !im->blocking || !im->batch || !im->msgs ||
	    !im->iov || !im->msg_frames ||
	    sodium_init() < 0) {
		log_error("cannot initialise: out of memory");
		return false;
	}
	for (size_t i = 0; i < cfg->n_providers; i++)
		im->channels[i] = (struct pollfd){ .fd = cfg->artifact_fds[i], .events = POLLOUT };
	im->channels[cfg->n_providers] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	im->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &TAG_SIGNALS };
	if (im->ep < 0 || (sfd >= 0 && epoll_ctl(im->ep, EPOLL_CTL_ADD, sfd, &ev) < 0)) {
		log_errno("epoll setup");
		return false;
	}
	return conns_init(im, &TAG_LISTENER);
}

void intermediary_close(struct intermediary *im)
{
	batch_flush(im);
	conns_free(im);
	request_pool_free(im);
	if (im->ep >= 0 && close(im->ep) < 0)
		log_errno("close of the epoll set");
	im->ep = -1;
	free(im->per_provider);
	free(im->channels);
	free(im->wait_fds);
	free(im->blocking);
	free(im->batch);
	sodium_memzero(im->random_pool, sizeof(im->random_pool));
	free(im->msgs);
	free(im->iov);
	free(im->msg_frames);
}

int intermediary_main(const struct intermediary_config *cfg, const struct role_seal *seal)
{
	struct intermediary im;
	int status = 1;
	int sfd = role_stop_signalfd();
	if (sfd < 0) {
		log_error("cannot initialise: no stop signalfd");
		return 1;
	}
	if (intermediary_open(&im, cfg, sfd)) {
		status = serve(&im, sfd, seal);
		if (im.counters.n)
			report_counters_now(&im, true);
		report_counters(&im);
	}
	intermediary_close(&im);
	return status;
}
