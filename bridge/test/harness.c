/* SPDX-License-Identifier: Apache-2.0 */
/* Smoke test of mpbs-bridge (not part of the build; bridge/test/smoke.sh
 * builds and runs it): two bridges, one out lane and one in lane on the
 * same stream, joined by NATS; the harness writes N numbered messages into
 * the out lane's channel and reads them from the in lane's channel,
 * kills each bridge with SIGKILL once in the middle, restarts it with the
 * same descriptors and state memfds, and reports loss, order, duplicates
 * and recovery times.
 *   harness BRIDGE KIND WINDOW N SERVER_URL PASSWORD_FILE LOGDIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../state.h"

#define MSG_LEN 100

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct bridge_proc {
	const char *name;
	char lane[128];
	int status_r, status_w, control_r, control_w, channel, state;
	pid_t pid;
	double started;
};

static const char *g_bin, *g_url, *g_password, *g_logdir, *g_window;
static int g_seccomp;

static int make_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, 0);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd");
	return fd;
}

static int make_filter(void)
{
	int fd = memfd_create("filter", 0);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (fd < 0 || !ctx || seccomp_export_bpf(ctx, fd) < 0)
		die("seccomp filter");
	seccomp_release(ctx);
	return fd;
}

/* Moves src to dst in the child (src first out of the way of dst). */
static void place(int src, int dst)
{
	if (dup2(src, dst) < 0)
		die("dup2");
}

static void start(struct bridge_proc *b)
{
	b->pid = fork();
	if (b->pid < 0)
		die("fork");
	if (b->pid == 0) {
		/* no orphan bridge if the harness dies */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			die("prctl");
		/* as the supervisor lays them out: 3 status, 4 control, 5 filter,
		 * 6 the state; the channel at 512 (bridge/fd_floor.h) */
		int hi[5];
		int src[5] = { b->status_w, b->control_r, g_seccomp, b->state, b->channel };
		int at[5] = { 3, 4, 5, 6, 512 };
		for (int i = 0; i < 5; i++)
			if ((hi[i] = fcntl(src[i], F_DUPFD, 600)) < 0)
				die("dupfd");
		for (int i = 0; i < 5; i++)
			place(hi[i], at[i]);
		close_range(7, 511, 0);
		close_range(513, ~0U, 0);
		char log[512];
		snprintf(log, sizeof(log), "%s/%s.log", g_logdir, b->name);
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lfd < 0)
			die("log");
		place(lfd, 2);
		close(lfd);
		/* the filter is read from offset 0 with pread each start */
		execl(g_bin, g_bin, "--run", "--host", b->name, "--user", "bridge", "--password-file", g_password,
		      "--server", g_url, "--inbox-prefix", "_INBOX.bridge", "--batch-frames", "256", "--batch-bytes",
		      "65536", "--window", g_window, "--status-fd", "3", "--control-fd", "4", "--seccomp-fd", "5",
		      "--lane", b->lane, (char *)NULL);
		die("exec");
	}
	b->started = now_s();
}

/* Waits for the status record: 'R' expected. */
static void wait_ready(struct bridge_proc *b)
{
	struct pollfd p = { .fd = b->status_r, .events = POLLIN };
	if (poll(&p, 1, 40000) != 1) {
		fprintf(stderr, "%s: no status record in 40 s\n", b->name);
		exit(1);
	}
	char c;
	if (read(b->status_r, &c, 1) != 1 || c != 'R') {
		fprintf(stderr, "%s: status record '%c', not R\n", b->name, c);
		exit(1);
	}
	printf("%s: R after %.3f s\n", b->name, now_s() - b->started);
}

static void kill9(struct bridge_proc *b)
{
	if (kill(b->pid, SIGKILL) < 0)
		die("kill");
	int st;
	if (waitpid(b->pid, &st, 0) < 0)
		die("waitpid");
}

static int stop(struct bridge_proc *b)
{
	double t = now_s();
	if (kill(b->pid, SIGTERM) < 0)
		die("kill");
	int st;
	if (waitpid(b->pid, &st, 0) < 0)
		die("waitpid");
	printf("%s: stopped in %.3f s, status %d\n", b->name, now_s() - t, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void pipe_pair(int *r, int *w)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	*r = p[0];
	*w = p[1];
}

static void channel_pair(int *reader, int *writer)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	if (shutdown(sv[0], SHUT_WR) < 0 || shutdown(sv[1], SHUT_RD) < 0)
		die("shutdown");
	*reader = sv[0];
	*writer = sv[1];
}

struct writer_arg {
	int fd;
	uint64_t n;
};

static void *writer_main(void *p)
{
	struct writer_arg *w = p;
	uint8_t msg[MSG_LEN];
	memset(msg, 'x', sizeof(msg));
	for (uint64_t i = 0; i < w->n; i++) {
		memcpy(msg, &i, sizeof(i));
		if (send(w->fd, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
			die("send");
	}
	return NULL;
}

static void init_proc(struct bridge_proc *b, const char *name, const char *dir, const char *kind, int channel)
{
	b->name = name;
	pipe_pair(&b->status_r, &b->status_w);
	pipe_pair(&b->control_r, &b->control_w);
	b->channel = channel;
	b->state = make_memfd(name, BRIDGE_STATE_BYTES);
	snprintf(b->lane, sizeof(b->lane), "%s:%s:smoke:512:6", dir, kind);
}

struct tally {
	uint64_t expect, dups, received;
	double last_event, gap_after_event;
};

/* Reads one message; returns 0, or -1 after 60 s without one. */
static int read_one(int fd, struct tally *t)
{
	uint8_t msg[MSG_LEN + 1];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 60000) != 1)
		return -1;
	ssize_t n = recv(fd, msg, sizeof(msg), 0);
	if (n != MSG_LEN) {
		fprintf(stderr, "reader: a message of %zd bytes\n", n);
		exit(1);
	}
	uint64_t seq;
	memcpy(&seq, msg, sizeof(seq));
	t->received++;
	if (seq < t->expect) {
		t->dups++;
		return 0;
	}
	if (seq > t->expect) {
		fprintf(stderr, "reader: LOSS or reorder: got %llu, expected %llu\n", (unsigned long long)seq,
			(unsigned long long)t->expect);
		exit(1);
	}
	if (t->last_event > 0) {
		t->gap_after_event = now_s() - t->last_event;
		printf("  first new message %.3f s after the event\n", t->gap_after_event);
		t->last_event = 0;
	}
	t->expect++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: harness BRIDGE KIND WINDOW N SERVER_URL PASSWORD_FILE LOGDIR\n");
		return 2;
	}
	g_bin = argv[1];
	const char *kind = argv[2];
	g_window = argv[3];
	uint64_t n = strtoull(argv[4], NULL, 10);
	g_url = argv[5];
	g_password = argv[6];
	g_logdir = argv[7];
	signal(SIGPIPE, SIG_IGN);
	g_seccomp = make_filter();
	int out_reader, out_writer, in_reader, in_writer;
	channel_pair(&out_reader, &out_writer);
	channel_pair(&in_reader, &in_writer);
	struct bridge_proc a, b;
	init_proc(&a, "bridge-out", "out", kind, out_reader);
	init_proc(&b, "bridge-in", "in", kind, in_writer);
	start(&a);
	start(&b);
	wait_ready(&a);
	wait_ready(&b);
	double t0 = now_s();
	pthread_t writer;
	struct writer_arg wa = { out_writer, n };
	if (pthread_create(&writer, NULL, writer_main, &wa))
		die("pthread_create");
	struct tally t = { 0 };
	const char *bounce = getenv("SERVER_BOUNCE");
	bool killed_out = false, killed_in = false;
	while (t.expect < n) {
		if (read_one(in_reader, &t) < 0) {
			fprintf(stderr, "reader: nothing for 60 s at %llu of %llu\n", (unsigned long long)t.expect,
				(unsigned long long)n);
			return 1;
		}
		if (t.expect == n / 4 && !killed_out) {
			killed_out = true;
			printf("kill -9 bridge-out at %llu\n", (unsigned long long)t.expect);
			kill9(&a);
			start(&a);
			t.last_event = a.started;
			wait_ready(&a);
		} else if (t.expect == n / 2 && bounce && t.last_event == 0) {
			printf("server bounce at %llu\n", (unsigned long long)t.expect);
			t.last_event = now_s();
			if (system(bounce) != 0)
				fprintf(stderr, "SERVER_BOUNCE failed\n");
			bounce = NULL;
		} else if (t.expect == 3 * n / 4 && !killed_in) {
			killed_in = true;
			printf("kill -9 bridge-in at %llu\n", (unsigned long long)t.expect);
			kill9(&b);
			start(&b);
			t.last_event = b.started;
			wait_ready(&b);
		}
	}
	double secs = now_s() - t0;
	pthread_join(writer, NULL);
	printf("%llu messages in order, none lost, %llu duplicates, %.2f s, %.0f messages/s overall (with kills)\n",
	       (unsigned long long)n, (unsigned long long)t.dups, secs, n / secs);
	/* replay request on a sig lane: the ring goes out again */
	if (strcmp(kind, "sig") == 0) {
		if (write(b.control_w, "J", 1) != 1)
			die("control");
		uint64_t replayed = 0;
		struct pollfd p = { .fd = in_reader, .events = POLLIN };
		uint8_t msg[MSG_LEN + 1];
		while (poll(&p, 1, 2000) == 1 && recv(in_reader, msg, sizeof(msg), 0) > 0)
			replayed++;
		printf("replay after 'J': %llu messages\n", (unsigned long long)replayed);
	}
	int rc = stop(&a) | stop(&b);
	return rc ? 1 : 0;
}
