/* SPDX-License-Identifier: Apache-2.0 */
/* An out lane's channel side: peeking messages into a batch (MSG_PEEK
 * with SO_PEEK_OFF, so batches in flight stay queued) and consuming a
 * batch once JetStream acknowledged it. */
#ifndef MPBS_BRIDGE_OUT_CHANNEL_H
#define MPBS_BRIDGE_OUT_CHANNEL_H

#include "lanes.h"

/* Channel messages one recvmmsg peeks or consumes. */
#define OUTCH_PEEK_MSGS 8
/* Channel messages one consuming recvmmsg takes (the kernel's UIO_MAXIOV). */
#define OUTCH_CONSUME_MSGS 1024
/* The flags of the two calls (the seccomp policy names them). */
#define OUTCH_PEEK_FLAGS (MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC)
#define OUTCH_CONSUME_FLAGS (MSG_DONTWAIT | MSG_TRUNC)

/* Allocates the peek buffers (before the seal) and sets SO_PEEK_OFF to 0:
 * a previous incarnation may have left it anywhere. Returns 0, or -1 with
 * err. */
int outch_setup(struct out_lane *l, char *err, size_t errlen);

/* Peeks the messages past l->peek_off into b (payload [u32 LE len][bytes]
 * per message) until b holds max_msgs messages, the next one does not fit
 * batch_bytes, or the channel has no more. Moves l->peek_off past what it
 * took (and the socket's peek offset back to it when it peeked more).
 * Returns the messages added, or -1 (errno). A message no batch can carry
 * (over batch_bytes - 4) ends the batch before it; once it is the
 * channel's head (nothing in flight) it is consumed, logged and counted
 * (malformed), and the peeks go on past it. */
int outch_peek_into(struct out_lane *l, struct out_batch *b, unsigned max_msgs);

/* Consumes b's messages from the channel's head (b is the oldest batch)
 * and moves l->peek_off back by them. Empty messages passed over by the
 * peeks are consumed in their turn without counting. Returns 0, or -1
 * (errno). */
int outch_consume(struct out_lane *l, const struct out_batch *b);

/* Sets the socket's peek offset to l->peek_off. Returns 0 or -1 (errno). */
int outch_rewind(struct out_lane *l);

#endif
