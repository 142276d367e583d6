/* SPDX-License-Identifier: Apache-2.0 */
/* unit_provider_channel: the provider's two recvmmsg calls on its artifact
 * channel (roles/provider/channel_read.c), on a SEQPACKET socketpair set up
 * as the supervisor sets a channel up (peek offset 0): a batch of messages
 * peeked in one call and consumed in another; a message over the buffer
 * and an empty one in the middle of a batch; a batch consumed in two parts;
 * and an fd sent along a message (a kernel without SO_PASSRIGHTS, or a
 * reader end that still passes rights) never installed in the reader and
 * closed by the kernel once the message is consumed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../roles/provider/channel_read.h"

#define CAP 64

/* A channel, and what the reader's last peek returned. */
struct chan {
	int w, r;
	uint8_t *bufs;
	struct peeked_msg m[PEEK_MSGS];
	bool full;
	uint64_t stepped; /* empty messages a consume stepped over */
};

static struct chan chan_open(void)
{
	int sv[2], zero = 0;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0, "socketpair: %s", strerror(errno));
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)), 0);
	struct chan c = { .w = sv[0], .r = sv[1], .bufs = calloc(PEEK_MSGS, CAP) };
	cr_assert_not_null(c.bufs);
	return c;
}

static void chan_close(struct chan *c)
{
	close(c->w);
	close(c->r);
	free(c->bufs);
}

/* A message of len bytes, each the byte tag. */
static void put(struct chan *c, uint8_t tag, size_t len)
{
	uint8_t buf[4 * CAP];
	cr_assert_leq(len, sizeof(buf));
	memset(buf, tag, len);
	cr_assert_eq(send(c->w, buf, len, 0), (ssize_t)len, "send: %s", strerror(errno));
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t tag)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != tag)
			return false;
	return true;
}

static int peek(struct chan *c)
{
	return channel_peek(c->r, c->bufs, CAP, c->m, &c->full);
}

/* Consumes n messages of the last peek, from its entry `from`. */
static void consume(struct chan *c, size_t from, size_t n)
{
	size_t lens[PEEK_MSGS];
	for (size_t i = 0; i < n; i++)
		lens[i] = c->m[from + i].len;
	cr_assert_eq(channel_consume(c->r, lens, n, &c->stepped), 0, "consume: %s", strerror(errno));
}

static bool queue_empty(struct chan *c)
{
	uint8_t b;
	return recv(c->r, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

Test(unit_provider_channel, a_batch_is_peeked_at_once_and_consumed_at_once)
{
	struct chan c = chan_open();
	for (int i = 0; i < 3; i++)
		put(&c, (uint8_t)('a' + i), 10 + (size_t)i);
	cr_assert_eq(peek(&c), 3);
	cr_assert(!c.full);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(c.m[i].len, 10 + (size_t)i);
		cr_assert(all_bytes(c.m[i].data, c.m[i].len, (uint8_t)('a' + i)), "message %d", i);
	}
	/* nothing consumed yet: a peek past them finds nothing new */
	cr_assert_eq(peek(&c), 0);
	consume(&c, 0, 3);
	cr_assert(queue_empty(&c));
	cr_assert_eq(c.stepped, 0);

	/* more than one call holds: full says so, the rest comes next */
	for (int i = 0; i < PEEK_MSGS + 2; i++)
		put(&c, (uint8_t)i, 5);
	cr_assert_eq(peek(&c), PEEK_MSGS);
	cr_assert(c.full);
	consume(&c, 0, PEEK_MSGS);
	cr_assert_eq(peek(&c), 2);
	cr_assert(all_bytes(c.m[0].data, 5, PEEK_MSGS) && all_bytes(c.m[1].data, 5, PEEK_MSGS + 1));
	consume(&c, 0, 2);
	cr_assert(queue_empty(&c));
	chan_close(&c);
}

Test(unit_provider_channel, an_oversized_and_an_empty_message_in_a_batch)
{
	struct chan c = chan_open();
	put(&c, 'a', 7);
	put(&c, 'X', 3 * CAP + 5); /* four entries of the call */
	put(&c, 'b', 8);
	put(&c, 0, 0);
	put(&c, 'c', 9);
	int n = peek(&c);
	cr_assert_eq(n, 5);
	cr_assert(!c.full, "an empty message may be the end: the caller stops after it");
	cr_assert(c.m[0].len == 7 && all_bytes(c.m[0].data, 7, 'a'));
	cr_assert(c.m[1].data == NULL && c.m[1].len == 3 * CAP + 5, "oversized: returned once, with its whole length");
	cr_assert(c.m[2].len == 8 && all_bytes(c.m[2].data, 8, 'b'));
	cr_assert_eq(c.m[3].len, 0);
	cr_assert(c.m[4].len == 9 && all_bytes(c.m[4].data, 9, 'c'));
	/* consumed in two parts, as a mid-batch consume does: the peek offset
	 * keeps stepping from the consumed ones to the rest */
	consume(&c, 0, 2);
	put(&c, 'd', 6);
	consume(&c, 2, 3);
	cr_assert_eq(peek(&c), 1);
	cr_assert(c.m[0].len == 6 && all_bytes(c.m[0].data, 6, 'd'));
	consume(&c, 0, 1);
	cr_assert(queue_empty(&c));
	cr_assert_eq(c.stepped, 0);
	chan_close(&c);
}

Test(unit_provider_channel, an_empty_message_a_peek_stepped_over_is_not_taken_for_a_handled_one)
{
	struct chan c = chan_open();
	uint8_t b;
	put(&c, 0, 0);
	put(&c, 'a', 4);
	/* a killed reader peeked the empty message; the next one's peek
	 * offset starts at 0 again and steps over it */
	cr_assert_eq(recv(c.r, &b, 1, MSG_DONTWAIT | MSG_PEEK), 0);
	int zero = 0;
	cr_assert_eq(setsockopt(c.r, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)), 0);
	cr_assert_eq(peek(&c), 1);
	cr_assert_eq(c.m[0].len, 4);
	consume(&c, 0, 1);
	cr_assert_eq(c.stepped, 1);
	cr_assert(queue_empty(&c), "the handled message is consumed, not left behind the empty one");
	chan_close(&c);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The kernel without SO_PASSRIGHTS (or a reader end that passes rights):
 * the provider's calls have no control buffer, so the fd sent along is
 * never installed, and once the message is consumed no copy of it is left
 * anywhere: the pipe's reader sees end of file. */
Test(unit_provider_channel, an_fd_sent_along_is_never_installed_and_is_closed_by_the_kernel)
{
	struct chan c = chan_open();
	int one = 1, pipefd[2];
	/* SO_PASSRIGHTS (Linux 6.16+) on, as an older kernel behaves; absent
	 * options leave the default, which passes rights */
	(void)setsockopt(c.r, SOL_SOCKET, 83 /* SO_PASSRIGHTS */, &one, sizeof(one));
	cr_assert_eq(pipe(pipefd), 0);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	uint8_t payload[12];
	memset(payload, 'p', sizeof(payload));
	struct iovec iov = { payload, sizeof(payload) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pipefd[1], sizeof(int));
	cr_assert_eq(sendmsg(c.w, &mh, 0), (ssize_t)sizeof(payload), "sendmsg with SCM_RIGHTS: %s", strerror(errno));
	cr_assert_eq(close(pipefd[1]), 0); /* the message now holds the only copy */

	int before = count_fds();
	cr_assert_eq(peek(&c), 1);
	cr_assert(c.m[0].len == sizeof(payload) && all_bytes(c.m[0].data, c.m[0].len, 'p'));
	cr_assert_eq(count_fds(), before, "a peek installed an fd");
	consume(&c, 0, 1);
	cr_assert_eq(count_fds(), before, "a consume installed an fd");
	char b;
	cr_assert_eq(read(pipefd[0], &b, 1), 0, "the pipe's write end still exists somewhere");
	close(pipefd[0]);
	chan_close(&c);
}
