/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "channel_read.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

int channel_peek(int fd, uint8_t *bufs, size_t cap, struct peeked_msg out[PEEK_MSGS], bool *full)
{
	struct mmsghdr msgs[PEEK_MSGS];
	struct iovec iov[PEEK_MSGS];
	for (size_t i = 0; i < PEEK_MSGS; i++) {
		iov[i] = (struct iovec){ bufs + i * cap, cap };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	int got;
	do
		got = recvmmsg(fd, msgs, PEEK_MSGS, PEEK_FLAGS, NULL);
	while (got < 0 && errno == EINTR);
	*full = false;
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	/* With MSG_TRUNC an entry's length is what its message holds past
	 * where the peek began: over cap, the next entry goes on with it. */
	int n = 0;
	bool continued = false;
	bool empty = false;
	for (int i = 0; i < got; i++) {
		size_t len = msgs[i].msg_len;
		bool piece = continued;
		continued = len > cap;
		if (piece)
			continue;
		out[n++] = (struct peeked_msg){ .data = len > cap ? NULL : iov[i].iov_base, .len = len };
		empty = empty || len == 0;
	}
	/* an empty entry may be the channel's end, which fills every entry */
	*full = got == PEEK_MSGS && !empty;
	return n;
}

int channel_consume(int fd, const size_t *lens, size_t n, uint64_t *stepped)
{
	struct mmsghdr msgs[PEEK_MSGS];
	size_t next = 0;
	while (next < n) {
		size_t want = n - next < PEEK_MSGS ? n - next : PEEK_MSGS;
		memset(msgs, 0, want * sizeof(msgs[0]));
		int got = recvmmsg(fd, msgs, (unsigned)want, CONSUME_FLAGS, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EIO;
			return -1;
		}
		for (int i = 0; i < got; i++) {
			if (msgs[i].msg_len == 0 && lens[next] != 0)
				(*stepped)++;
			else
				next++;
		}
	}
	return 0;
}
