/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-bridge: carries the local one-way channels of a host part to and
 * from NATS JetStream (the contract: bridge-spec.md; the layout of the
 * state memfds: state.h). --run is the sandboxed role the supervisor
 * starts; --init creates the streams and consumers (init.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "args.h"
#include "conn.h"
#include "fd_floor.h"
#include "init.h"
#include "lanes.h"
#include "logline.h"
#include "seal.h"
#include "status.h"

/* Stop: the lanes get this long to finish; then what was left is logged
 * and the process exits, within the supervisor's 10 s. */
#define STOP_LANES_MS 8500
#define STOP_FLUSH_MS 700

struct bridge {
	const struct bridge_args *args;
	natsConnection *nc;
	int signal_fd, stop_fd;
	struct out_lane *out;
	struct in_lane *in;
	size_t out_count, in_count;
};

/* The fds the supervisor passes must be open: a wrong number is named. */
static int check_fds(const struct bridge_args *a, char *err, size_t errlen)
{
	int fds[4 + 2 * BRIDGE_LANES_MAX];
	const char *names[4 + 2 * BRIDGE_LANES_MAX];
	size_t n = 0;
	fds[n] = a->status_fd, names[n++] = "--status-fd";
	fds[n] = a->control_fd, names[n++] = "--control-fd";
	fds[n] = a->seccomp_fd, names[n++] = "--seccomp-fd";
	if (a->secrets_fd >= 0)
		fds[n] = a->secrets_fd, names[n++] = "--secrets-fd";
	for (size_t i = 0; i < a->lane_count; i++) {
		fds[n] = a->lanes[i].channel_fd, names[n++] = "--lane channel fd";
		fds[n] = a->lanes[i].state_fd, names[n++] = "--lane state fd";
	}
	for (size_t i = 0; i < a->lane_count; i++)
		if (a->lanes[i].channel_fd < BRIDGE_FD_CHANNELS || a->lanes[i].state_fd >= BRIDGE_FD_CHANNELS) {
			/* the filter tells lanes from its own sockets by this floor */
			snprintf(err, errlen, "--lane channel fd %d / state fd %d: a channel must be at or above fd %d, a "
				 "state below it", a->lanes[i].channel_fd, a->lanes[i].state_fd, BRIDGE_FD_CHANNELS);
			return -1;
		}
	for (size_t i = 0; i < n; i++) {
		if (fcntl(fds[i], F_GETFD) < 0) {
			snprintf(err, errlen, "%s %d: %s", names[i], fds[i], strerror(errno));
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (fds[i] == fds[j]) {
				snprintf(err, errlen, "%s %d is also %s", names[i], fds[i], names[j]);
				return -1;
			}
	}
	return 0;
}

/* SIGTERM and SIGINT through a signalfd (like roles/role.c); SIGPIPE
 * blocked too, so a write to a closed pipe is an EPIPE, not a death. */
static int stop_signalfd(char *err, size_t errlen)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPIPE);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	sigdelset(&mask, SIGPIPE);
	sigdelset(&mask, SIGHUP);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
	return fd;
}

/* Before the seal: each lane's state mapped, its buffers allocated. */
static int prepare_lanes(struct bridge *b, char *err, size_t errlen)
{
	const struct bridge_args *a = b->args;
	b->out = calloc(a->lane_count, sizeof(*b->out));
	b->in = calloc(a->lane_count, sizeof(*b->in));
	if (!b->out || !b->in) {
		snprintf(err, errlen, "lanes: out of memory");
		return -1;
	}
	for (size_t i = 0; i < a->lane_count; i++) {
		const struct lane_arg *arg = &a->lanes[i];
		int rc = arg->out ? out_lane_prepare(&b->out[b->out_count++], a, arg, b->stop_fd, err, errlen)
				  : in_lane_prepare(&b->in[b->in_count++], arg, b->stop_fd, err, errlen);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* After the seal: bound to JetStream, then started. */
static int start_lanes(struct bridge *b, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->out_count; i++)
		if (out_lane_bind(&b->out[i], b->nc, err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < b->in_count; i++)
		if (in_lane_bind(&b->in[i], b->nc, err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < b->out_count; i++)
		if (out_lane_start(&b->out[i], err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < b->in_count; i++)
		if (in_lane_start(&b->in[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* Everything that reads no byte from the network comes before the seal:
 * the credentials, the options (TLS material parsed), the states. The
 * first server INFO, every JSON answer and every fetched message is then
 * read under the filter, by a process that never had it off. Returns 0,
 * or -1 with err for the 'E'. */
static int start_up(struct bridge *b, char *err, size_t errlen)
{
	const struct bridge_args *a = b->args;
	if (check_fds(a, err, errlen) < 0)
		return -1;
	b->signal_fd = stop_signalfd(err, errlen);
	if (b->signal_fd < 0)
		return -1;
	b->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return -1;
	}
	natsStatus s = nats_Open(-1);
	if (s != NATS_OK) {
		snprintf(err, errlen, "libnats: %s", natsStatus_GetText(s));
		return -1;
	}
	natsOptions *o = conn_options(a, err, errlen);
	if (!o || prepare_lanes(b, err, errlen) < 0 || seal_install(a->seccomp_fd, err, errlen) < 0)
		return -1;
	b->nc = conn_connect(o, err, errlen);
	return b->nc ? start_lanes(b, err, errlen) : -1;
}

/* The supervisor's requests: each 'R' (it restarted the association)
 * asks every sig in lane to write its replay ring again. Returns false
 * once the control pipe is closed. */
static bool serve_control(struct bridge *b)
{
	char buf[64];
	ssize_t n = read(b->args->control_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		/* 'R', the byte the supervisor sends every role that keeps a
		 * journal after the association restarted (runner/supervise_restart.c) */
		if (buf[i] != 'R') {
			bridge_warning("control fd: unknown request byte 0x%02x ignored", (unsigned char)buf[i]);
			continue;
		}
		for (size_t j = 0; j < b->in_count; j++)
			if (b->in[j].c.arg->kind == LANE_SIG)
				atomic_fetch_add(&b->in[j].replay_requests, 1);
	}
	return true;
}

/* Serves until SIGTERM or SIGINT. */
static void serve(struct bridge *b)
{
	bool control_open = true;
	for (;;) {
		struct pollfd p[2] = { { .fd = b->signal_fd, .events = POLLIN },
				       { .fd = b->args->control_fd, .events = POLLIN } };
		int r = poll(p, control_open ? 2 : 1, -1);
		if (r < 0 && errno != EINTR) {
			bridge_error("poll: %s", strerror(errno));
			return;
		}
		struct signalfd_siginfo si;
		if ((p[0].revents & POLLIN) && read(b->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
			return;
		if (control_open && (p[1].revents & (POLLIN | POLLHUP)) && !serve_control(b)) {
			bridge_warning("control fd %d closed", b->args->control_fd);
			control_open = false;
		}
	}
}

static struct lane_common *lane_at(struct bridge *b, size_t i)
{
	return i < b->out_count ? &b->out[i].c : &b->in[i - b->out_count].c;
}

/* Asks every lane to stop and waits for them until the deadline. Returns
 * true if all finished. */
static bool stop_lanes(struct bridge *b)
{
	size_t total = b->out_count + b->in_count;
	for (size_t i = 0; i < total; i++)
		atomic_store(&lane_at(b, i)->stopping, true);
	uint64_t one = 1;
	if (write(b->stop_fd, &one, sizeof(one)) < 0)
		bridge_error("stop eventfd: %s", strerror(errno));
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_LANES_MS / 1000;
	deadline.tv_nsec += (STOP_LANES_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	bool all = true;
	for (size_t i = 0; i < total; i++) {
		struct lane_common *c = lane_at(b, i);
		int e = c->started ? pthread_timedjoin_np(c->thread, NULL, &deadline) : 0;
		if (e) {
			bridge_warning("%s: not finished at stop (%s)", c->name, strerror(e));
			all = false;
		}
	}
	return all;
}

static void report_lanes(struct bridge *b)
{
	for (size_t i = 0; i < b->out_count; i++)
		out_lane_report(&b->out[i]);
	for (size_t i = 0; i < b->in_count; i++)
		in_lane_report(&b->in[i]);
}

static int run(const struct bridge_args *a)
{
	struct bridge b = { .args = a, .signal_fd = -1, .stop_fd = -1 };
	char err[512];
	if (start_up(&b, err, sizeof(err)) < 0)
		return status_cannot_start(a->status_fd, "%s", err);
	if (status_ready(a->status_fd) < 0)
		return 111; /* SPAWN_SETUP_FAILED: the supervisor cannot be told */
	bridge_info("bridge of host %s serving %zu out and %zu in lanes", a->host, b.out_count, b.in_count);
	serve(&b);
	bool all = stop_lanes(&b);
	report_lanes(&b);
	if (!all) {
		/* a lane still waits on NATS or the channel: every state is
		 * kill-safe, so leaving now loses nothing */
		_exit(0);
	}
	conn_close(b.nc, STOP_FLUSH_MS);
	return 0;
}

int main(int argc, char **argv)
{
	struct bridge_args args;
	char err[512];
	if (args_parse(argc, argv, &args, err, sizeof(err)) < 0) {
		if (argc >= 2 && strcmp(argv[1], "--init") == 0) {
			bridge_error("%s", err);
			return 2;
		}
		return status_cannot_start(args.status_fd, "%s", err);
	}
	return args.init ? init_run(&args) : run(&args);
}
