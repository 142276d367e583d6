/* SPDX-License-Identifier: Apache-2.0 */
/* Edge cases of mpbs-bridge's lanes (not part of the build; edge.sh
 * builds and runs it against its own nats-server). One out lane and one
 * in lane on stream MPBS_ART_edge, as the harness lays them out, and an
 * admin connection that does to the stream what no bridge may:
 *   1. a channel message larger than --batch-bytes allows, behind a batch
 *      and then alone at the head: dropped, the lane goes on;
 *   2. a stream message deleted from the middle: the in lane skips it
 *      (what follows arrives) instead of waiting for ever;
 *   3. a gap longer than the consumer's max ack pending (the admin acks
 *      1,099 messages the in lane never saw, as a previous run's acks
 *      above the floor a fresh state starts at): read from the stream and
 *      written in order, then the next one fetched.
 * edge.sh checks the bridges' log lines for each.
 *   edge BRIDGE SERVER_URL BRIDGE_PASSWORD_FILE ADMIN_PASSWORD LOGDIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../state.h"

#define MSG_LEN 100
#define OVERSIZE 6000 /* over --batch-bytes 4096 */
#define SUBJECT "mpbs.art.edge"
#define STREAM "MPBS_ART_edge"
#define DURABLE "art-edge"
#define ACKED_AHEAD 1099 /* more than the consumers' max ack pending, 1024 */

static const char *g_bin, *g_url, *g_password, *g_logdir;
static int g_filter;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

struct bridge {
	const char *name, *lane;
	int status_r, status_w, control_r, channel, state;
	pid_t pid;
};

static int memfd_of(const char *name, size_t size)
{
	int fd = memfd_create(name, 0);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd");
	return fd;
}

static int allow_all_filter(void)
{
	int fd = memfd_create("filter", 0);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (fd < 0 || !ctx || seccomp_export_bpf(ctx, fd) < 0)
		die("filter");
	seccomp_release(ctx);
	return fd;
}

/* In the child: fds where the supervisor puts them (3 status, 4 control,
 * 5 filter, 6 state, 512 the channel), stderr to the log, then exec. */
static void exec_bridge(const struct bridge *b)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("prctl");
	int src[5] = { b->status_w, b->control_r, g_filter, b->state, b->channel };
	int at[5] = { 3, 4, 5, 6, 512 }, hi[5];
	for (int i = 0; i < 5; i++)
		if ((hi[i] = fcntl(src[i], F_DUPFD, 600)) < 0)
			die("dupfd");
	for (int i = 0; i < 5; i++)
		if (dup2(hi[i], at[i]) < 0)
			die("dup2");
	if (close_range(7, 511, 0) < 0 || close_range(513, ~0U, 0) < 0)
		die("close_range");
	char log[512];
	snprintf(log, sizeof(log), "%s/%s.log", g_logdir, b->name);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || dup2(fd, 2) < 0)
		die("log");
	execl(g_bin, g_bin, "--run", "--host", b->name, "--user", "bridge", "--password-file", g_password, "--server",
	      g_url, "--inbox-prefix", "_INBOX.bridge", "--batch-frames", "256", "--batch-bytes", "4096", "--window",
	      "4", "--status-fd", "3", "--control-fd", "4", "--seccomp-fd", "5", "--lane", b->lane, (char *)NULL);
	die("exec");
}

static void start(struct bridge *b)
{
	b->pid = fork();
	if (b->pid < 0)
		die("fork");
	if (b->pid == 0)
		exec_bridge(b);
	struct pollfd p = { .fd = b->status_r, .events = POLLIN };
	char c = 0;
	if (poll(&p, 1, 40000) != 1 || read(b->status_r, &c, 1) != 1 || c != 'R') {
		fprintf(stderr, "%s: no 'R' status record (got '%c')\n", b->name, c);
		exit(1);
	}
}

static void stop(struct bridge *b)
{
	int st;
	if (kill(b->pid, SIGTERM) < 0 || waitpid(b->pid, &st, 0) < 0)
		die("stop");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("%s: exit status %d", b->name, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void still_running(const struct bridge *b)
{
	int st;
	pid_t r = waitpid(b->pid, &st, WNOHANG);
	if (r != 0)
		fail("%s is gone", b->name);
}

static void init_bridge(struct bridge *b, const char *name, const char *lane, int channel)
{
	int s[2], c[2];
	if (pipe2(s, O_CLOEXEC) < 0 || pipe2(c, O_CLOEXEC) < 0)
		die("pipe");
	*b = (struct bridge){ .name = name, .lane = lane, .status_r = s[0], .status_w = s[1], .control_r = c[0],
			      .channel = channel, .state = memfd_of(name, BRIDGE_STATE_BYTES) };
}

/* One-way SEQPACKET pair, as the supervisor makes channels. */
static void channel(int *reader, int *writer)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || shutdown(sv[0], SHUT_WR) < 0 ||
	    shutdown(sv[1], SHUT_RD) < 0)
		die("socketpair");
	*reader = sv[0];
	*writer = sv[1];
}

static void put_numbered(int fd, uint64_t n)
{
	uint8_t m[MSG_LEN];
	memset(m, 'x', sizeof(m));
	memcpy(m, &n, sizeof(n));
	if (send(fd, m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		die("send");
}

static void put_oversize(int fd)
{
	static uint8_t m[OVERSIZE];
	memset(m, 'O', sizeof(m));
	if (send(fd, m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		die("send oversize");
}

/* The next numbered message within ms, which must be want. */
static void expect(int fd, uint64_t want, int ms)
{
	uint8_t m[OVERSIZE + 1];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		fail("message %llu not there in %d ms", (unsigned long long)want, ms);
	ssize_t n = recv(fd, m, sizeof(m), 0);
	uint64_t got = 0;
	if (n != MSG_LEN)
		fail("a message of %zd bytes where %llu was expected", n, (unsigned long long)want);
	memcpy(&got, m, sizeof(got));
	if (got != want)
		fail("message %llu where %llu was expected", (unsigned long long)got, (unsigned long long)want);
}

static void nothing_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 0)
		fail("a message came within %d ms", ms);
}

static void check(natsStatus s, const char *what)
{
	if (s != NATS_OK) {
		fprintf(stderr, "%s: %s (%s)\n", what, natsStatus_GetText(s), nats_GetLastError(NULL));
		exit(2);
	}
}

static uint64_t last_seq(jsCtx *js)
{
	jsStreamInfo *si = NULL;
	check(js_GetStreamInfo(&si, js, STREAM, NULL, NULL), "stream info");
	uint64_t seq = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	return seq;
}

static void wait_stored(jsCtx *js, uint64_t seq)
{
	for (int t = 0; last_seq(js) < seq; t++) {
		if (t == 100)
			fail("stream message %llu not stored in 10 s", (unsigned long long)seq);
		usleep(100000);
	}
}

/* Publishes n batches of one numbered message each, as an out lane would. */
static void publish_direct(jsCtx *js, uint64_t first, unsigned n)
{
	uint8_t payload[4 + MSG_LEN];
	payload[0] = MSG_LEN;
	payload[1] = payload[2] = payload[3] = 0;
	memset(payload + 4, 'x', MSG_LEN);
	for (unsigned i = 0; i < n; i++) {
		uint64_t num = first + i;
		memcpy(payload + 4, &num, sizeof(num));
		check(js_Publish(NULL, js, SUBJECT, payload, sizeof(payload), NULL, NULL), "publish");
	}
}

/* Takes n messages from the in lane's durable and acks them: the
 * consumer's ack floor moves past messages the lane never saw. */
static void ack_ahead(jsCtx *js, unsigned n)
{
	natsSubscription *sub = NULL;
	jsSubOptions so;
	check(jsSubOptions_Init(&so), "sub options");
	so.Stream = STREAM;
	so.Consumer = DURABLE;
	check(js_PullSubscribe(&sub, js, SUBJECT, DURABLE, NULL, &so, NULL), "bind to the durable");
	for (unsigned done = 0; done < n;) {
		natsMsgList list = { 0 };
		int want = n - done < 100 ? (int)(n - done) : 100;
		check(natsSubscription_Fetch(&list, sub, want, 5000, NULL), "fetch");
		for (int i = 0; i < list.Count; i++)
			check(natsMsg_AckSync(list.Msgs[i], NULL, NULL), "ack");
		done += (unsigned)list.Count;
		natsMsgList_Destroy(&list);
	}
	natsSubscription_Destroy(sub);
}

/* Written before the out lane starts, so its first peek takes 0..9 into
 * a batch and meets the oversize one behind them. */
static void case_oversize(struct bridge *out, struct bridge *in, int out_w, int in_r)
{
	for (uint64_t i = 0; i < 10; i++)
		put_numbered(out_w, i);
	put_oversize(out_w);
	for (uint64_t i = 10; i < 20; i++)
		put_numbered(out_w, i);
	start(out);
	start(in);
	for (uint64_t i = 0; i < 20; i++)
		expect(in_r, i, 10000);
	/* alone: at the head with nothing in flight */
	put_oversize(out_w);
	put_numbered(out_w, 20);
	expect(in_r, 20, 10000);
	still_running(out);
	printf("oversize: 21 messages in order, two oversize ones dropped, the out lane still running\n");
}

static void case_deleted(struct bridge *in, int out_w, int in_r, jsCtx *js)
{
	stop(in);
	uint64_t before = last_seq(js);
	/* one batch each: the next is written once the last is stored */
	for (uint64_t i = 21; i < 24; i++) {
		put_numbered(out_w, i);
		wait_stored(js, before + (i - 20));
	}
	uint64_t gone = before + 2; /* the batch of message 22 */
	check(js_DeleteMsg(js, STREAM, gone, NULL, NULL), "delete");
	start(in);
	expect(in_r, 21, 10000);
	expect(in_r, 23, 10000);
	printf("deleted: stream message %llu deleted, 21 and 23 delivered, the lane went on\n",
	       (unsigned long long)gone);
}

static void case_long_gap(struct bridge *in, int in_r, jsCtx *js)
{
	stop(in);
	publish_direct(js, 1000, ACKED_AHEAD + 1);
	ack_ahead(js, ACKED_AHEAD);
	start(in);
	for (uint64_t i = 0; i <= ACKED_AHEAD; i++)
		expect(in_r, 1000 + i, 10000);
	nothing_within(in_r, 1000);
	still_running(in);
	stop(in);
	printf("long gap: %u messages acked ahead of the lane; read from the stream, all %u written in order\n",
	       ACKED_AHEAD, ACKED_AHEAD + 1);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: edge BRIDGE SERVER_URL BRIDGE_PASSWORD_FILE ADMIN_PASSWORD LOGDIR\n");
		return 2;
	}
	g_bin = argv[1];
	g_url = argv[2];
	g_password = argv[3];
	g_logdir = argv[5];
	signal(SIGPIPE, SIG_IGN);
	g_filter = allow_all_filter();
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	check(nats_Open(-1), "nats_Open");
	natsOptions *o = NULL;
	check(natsOptions_Create(&o), "options");
	check(natsOptions_SetURL(o, g_url), "url");
	check(natsOptions_SetUserInfo(o, "admin", argv[4]), "user");
	check(natsConnection_Connect(&nc, o), "connect");
	check(natsConnection_JetStream(&js, nc, NULL), "JetStream");
	int out_r, out_w, in_r, in_w;
	channel(&out_r, &out_w);
	channel(&in_r, &in_w);
	struct bridge out, in;
	init_bridge(&out, "bridge-out", "out:art:edge:512:6", out_r);
	init_bridge(&in, "bridge-in", "in:art:edge:512:6", in_w);
	case_oversize(&out, &in, out_w, in_r);
	case_deleted(&in, out_w, in_r, js);
	case_long_gap(&in, in_r, js);
	stop(&out);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
	nats_Close();
	return 0;
}
