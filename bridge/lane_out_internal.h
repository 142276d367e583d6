/* SPDX-License-Identifier: Apache-2.0 */
/* What lane_out.c (the loop) and lane_out_setup.c (set-up, resume after
 * a restart) share. */
#ifndef MPBS_BRIDGE_LANE_OUT_INTERNAL_H
#define MPBS_BRIDGE_LANE_OUT_INTERNAL_H

#include "lanes.h"

#define RETRY_FIRST_MS 50

struct bridge_out_state *out_state(struct out_lane *l);
struct out_batch *batch_of(struct out_lane *l, uint64_t seq);
void reset_batch(struct out_batch *b, uint64_t seq);
void batch_digest(const struct out_batch *b, uint8_t out[16]);
/* Publishes b asynchronously under its id; the outcome comes to b's status. */
void publish(struct out_lane *l, struct out_batch *b);
/* The ack handler (jsOptions.PublishAsync.AckHandler, closure the lane). */
void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
/* After a restart: peeks the recorded in-flight batches again, drops the
 * oldest if it was consumed just before the kill, republishes the rest
 * under their recorded ids. */
void out_resume(struct out_lane *l);
/* The lane's thread. */
void *out_lane_main(void *arg);

#endif
