/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's two calls on its artifact channel: a recvmmsg that peeks
 * up to PEEK_MSGS messages, and one that consumes messages once handled.
 * Neither passes a control buffer (msg_control NULL, msg_controllen 0): an
 * fd sent along a message (only possible where the kernel lacks
 * SO_PASSRIGHTS, which the supervisor turns off on this channel) is closed
 * by the kernel, never installed in the provider. policy/provider.policy
 * allows recvmmsg with exactly these flags on this channel only. */
#ifndef MPBS_PROVIDER_CHANNEL_READ_H
#define MPBS_PROVIDER_CHANNEL_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Messages peeked by one recvmmsg (each up to cap bytes, in a buffer of its
 * own: only the pages a message fills are ever touched). */
#define PEEK_MSGS 8
/* The flags of the two calls, which the policy names as numbers. */
#define PEEK_FLAGS (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC)
#define CONSUME_FLAGS (MSG_DONTWAIT | MSG_TRUNC)

/* A peeked message: its bytes, or data NULL when it is over cap (len is
 * then its whole length); len 0 is an empty message or the channel's end. */
struct peeked_msg {
	const uint8_t *data;
	size_t len;
};

/* Peeks the messages at the channel's head past the peek offset into bufs
 * (PEEK_MSGS buffers of cap bytes). Returns how many messages (0 when none
 * is queued), or -1 (errno). *full: more may be queued. A message over
 * cap takes several entries of the call (each peek takes cap more of it):
 * it is returned once. */
int channel_peek(int fd, uint8_t *bufs, size_t cap, struct peeked_msg out[PEEK_MSGS], bool *full);

/* Consumes n messages whose peeked lengths are lens. An empty message that
 * the peeks stepped over (one a killed reader had peeked) is consumed in its
 * turn, not taken for one of them: counted in *stepped. Returns 0 or -1
 * (errno). */
int channel_consume(int fd, const size_t *lens, size_t n, uint64_t *stepped);

#endif
