/* SPDX-License-Identifier: Apache-2.0 */
/* An in lane's channel side: a NATS message's payload split into its
 * channel messages (every length checked: the payload comes from another
 * host: bridge/batch.h), each written with one send, progress kept in
 * the state memfd; and the replay ring of a sig lane. */
#ifndef MPBS_BRIDGE_IN_WRITE_H
#define MPBS_BRIDGE_IN_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lanes.h"

/* How long a stopping lane still waits for the channel to take the rest
 * of the message it is writing (the whole bridge exits within 10 s). */
#define INW_STOP_GRACE_MS 7000

/* The flags of the channel writes (the seccomp policy names them). */
#define INW_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

/* Writes the channel messages of stream message seq (payload p, len
 * bytes), skipping those a previous incarnation wrote (partial_*), then
 * records seq delivered. A malformed payload has its well-formed prefix
 * written and is still recorded delivered. Returns 0, or 1 when a stop
 * cut it short (not delivered: it comes again). */
int inw_deliver(struct in_lane *l, uint64_t seq, const uint8_t *p, size_t len);

/* Records seq delivered without writing anything: a message the stream
 * no longer has (lane_in.c says when). */
void inw_skip(struct in_lane *l, uint64_t seq);

/* Writes the replay ring's messages again, oldest first, if an 'R' asked
 * for it (l->replay_requests). Returns 0, or 1 when a stop cut it short. */
int inw_replay_if_asked(struct in_lane *l);

#endif
