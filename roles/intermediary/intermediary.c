/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary: its loop and start-up. One epoll set drives
 * libmicrohttpd (http.c), watches the stop signalfd and every connection's
 * half-close, and after each turn waits while an artifact channel is
 * congested (channels.c). A stop finishes the requests under way. */
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
 * carries a connection's struct deadline (watch_peer). */
static char TAG_SIGNALS, TAG_HTTP;

#define EVENTS_MAX 64

static int epoll_add(int ep, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int wait_timeout_ms(struct MHD_Daemon *d)
{
	MHD_UNSIGNED_LONG_LONG t;
	if (MHD_get_timeout(d, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (int)t;
}

/* Stop: accept nothing new, finish the requests under way, then return.
 * Idle keep-alive connections hold no request and are not waited for; a
 * request still unfinished after DRAIN_MS belongs to a slow or hostile
 * client and is abandoned, so a stop stays a clean exit. */
static int drain(struct intermediary *im, struct MHD_Daemon *d, int ep)
{
	MHD_socket lfd = MHD_quiesce_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd); /* our copy; the supervisor keeps the listener */
	uint64_t t0 = clock_mono_ms();
	while (im->in_flight > 0) {
		if (clock_mono_ms() - t0 > DRAIN_MS) {
			log_info("stop: abandoning %u unfinished requests after %d ms", im->in_flight, DRAIN_MS);
			return 0;
		}
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, wait_timeout_ms(d)) < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return 1;
		}
		MHD_run(d);
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

static int serve(struct intermediary *im, struct MHD_Daemon *d, int sfd, const struct role_seal *seal)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || !info || epoll_add(ep, info->epoll_fd, &TAG_HTTP) < 0 || epoll_add(ep, sfd, &TAG_SIGNALS) < 0) {
		log_errno("epoll setup");
		return 1;
	}
	im->ep = ep;
	if (role_counters_init(&im->counters, im->cfg->status_fd, RC_IM_COUNT) < 0 ||
	    role_seal_and_report(seal, im->cfg->status_fd) < 0)
		return 1;
	/* The loop never runs start-up's code again (role.h); a failure is
	 * logged and changes nothing else. */
	(void)role_release_startup_code();
	int report_in_ms = -1;
	for (;;) {
		struct epoll_event evs[EVENTS_MAX];
		int n = epoll_wait(ep, evs, EVENTS_MAX, sooner_ms(wait_timeout_ms(d), report_in_ms));
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &TAG_SIGNALS && role_stop_requested(sfd))
				return drain(im, d, ep);
			if (tag != &TAG_SIGNALS && tag != &TAG_HTTP)
				peer_done_note(im, tag);
		}
		MHD_run(d);
		close_half_closed(im);
		cut_connections_late_at(im, clock_mono_ms());
		wait_for_channels(im);
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
		 " waits for a congested channel",
		 v[RC_IM_requests], v[RC_IM_oversize], v[RC_IM_bad_header], v[RC_IM_timed_out],
		 v[RC_IM_half_closed], v[RC_IM_artifacts_written], v[RC_IM_artifacts_dropped],
		 v[RC_IM_artifacts_failed], v[RC_IM_stalls]);
}

int intermediary_main(const struct intermediary_config *cfg, const struct role_seal *seal)
{
	struct intermediary im = { .cfg = cfg, .ep = -1 };
	int status = 1;
	deadlines_init(&im.deadlines, (uint64_t)cfg->header_timeout_s * 1000, (uint64_t)cfg->body_timeout_s * 1000);
	int sfd = role_stop_signalfd();
	im.per_provider = calloc(cfg->n_providers, sizeof(*im.per_provider));
	/* one per provider, then the stop signalfd (wait_for_channels) */
	im.channels = calloc(cfg->n_providers + 1, sizeof(*im.channels));
	for (size_t i = 0; im.channels && i < cfg->n_providers; i++)
		im.channels[i] = (struct pollfd){ .fd = cfg->artifact_fds[i], .events = POLLOUT };
	if (im.channels)
		im.channels[cfg->n_providers] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	im.wait_fds = calloc(cfg->n_providers + 1, sizeof(*im.wait_fds));
	im.blocking = calloc(cfg->n_providers, sizeof(*im.blocking));
	if (sfd < 0 || !im.per_provider || !im.channels || !im.wait_fds || !im.blocking || sodium_init() < 0 ||
	    !responses_create(&im)) {
		log_error("cannot initialise");
		goto out;
	}
	struct MHD_Daemon *d = http_daemon_start(&im);
	if (!d) {
		log_error("cannot start the HTTP server on the inherited listener");
		goto out;
	}
	status = serve(&im, d, sfd, seal);
	MHD_stop_daemon(d);
	if (im.counters.n)
		report_counters_now(&im, true);
	report_counters(&im);
out:
	responses_destroy(&im);
	request_pool_free(&im);
	free(im.per_provider);
	free(im.channels);
	free(im.wait_fds);
	free(im.blocking);
	return status;
}
