/* SPDX-License-Identifier: Apache-2.0 */
/* The lanes: one thread each, started after the seal.
 *   out lane: channel -> NATS (lane_out.c, its channel side out_channel.c)
 *   in lane:  NATS -> channel (lane_in.c, its channel side in_write.c) */
#ifndef MPBS_BRIDGE_LANES_H
#define MPBS_BRIDGE_LANES_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "args.h"
#include "state.h"

#define LANE_NAME_MAX 64

/* What both directions share. */
struct lane_common {
	const struct lane_arg *arg;
	char name[LANE_NAME_MAX]; /* "out sig:P", for log lines */
	char subject[LANE_NAME_MAX], stream[LANE_NAME_MAX], durable[LANE_NAME_MAX];
	struct bridge_state *state;
	int stop_fd;          /* the main thread's eventfd: readable once stop is asked */
	atomic_bool stopping; /* set with it, read by the lane */
	atomic_bool finished; /* the lane's thread has returned */
	pthread_t thread;
	bool started;
};

/* One out batch: the in-memory twin of its state slot, with its payload
 * (kept for retries: the channel bytes cannot be peeked again cheaply). */
enum batch_status { BATCH_FREE, BATCH_SENT, BATCH_ACKED, BATCH_FAILED };

struct out_batch {
	uint64_t seq;
	uint32_t msgs;
	uint32_t channel_bytes; /* sum of the channel messages' lengths */
	uint32_t payload_len;
	uint8_t *payload; /* batch_bytes, allocated before the seal */
	enum batch_status status;
	natsStatus fail_status; /* why it failed, from the ack handler */
	int fail_code;          /* JetStream error code, 0 if none */
	char fail_text[96];
	int64_t retry_at_ms;
	unsigned generation; /* conn_generation() when it was published */
};

struct lane_counters {
	uint64_t batches, msgs, bytes, retries, skipped, duplicates, malformed, held, gap_filled;
	uint64_t missing; /* stream messages deleted from the middle: skipped */
};

struct out_lane {
	struct lane_common c;
	natsConnection *nc;
	jsCtx *js;
	unsigned window, batch_frames, batch_bytes;
	pthread_mutex_t lock; /* guards status and fail_* against the ack handler */
	int wake_fd;          /* eventfd the ack handler writes */
	struct out_batch batch[BRIDGE_WINDOW_MAX]; /* batch s at s % window */
	uint64_t peek_off;    /* channel bytes of the batches in flight */
	uint8_t *scratch;     /* peek buffers (out_channel.c) */
	size_t scratch_cap;   /* bytes of one peek buffer */
	struct mmsghdr *consume_vec; /* OUTCH_CONSUME_MSGS entries */
	unsigned backoff_ms;  /* pause before the next retry */
	char last_cause[128]; /* logged once per change */
	struct lane_counters n;
};

struct in_lane {
	struct lane_common c;
	natsConnection *nc; /* for its last error text */
	jsCtx *js;
	natsSubscription *sub;
	atomic_uint replay_requests; /* 'R' bytes not yet served */
	int64_t purge_due_ms;
	uint64_t purged_to;          /* delivered_seq of the last purge */
	bool purge_refused_logged;
	uint64_t waiting_for; /* the gap's first sequence, once logged */
	char last_fetch_error[128];
	struct lane_counters n;
};

/* Before the seal: maps the state memfd, allocates the buffers, makes
 * the eventfds. Nothing from the network yet. Returns 0, or -1 with err
 * naming the lane. */
int out_lane_prepare(struct out_lane *l, const struct bridge_args *a, const struct lane_arg *arg, int stop_fd,
		     char *err, size_t errlen);
int in_lane_prepare(struct in_lane *l, const struct lane_arg *arg, int stop_fd, char *err, size_t errlen);

/* After the seal, once connected: the JetStream context; an in lane binds
 * its pull subscription and reads its consumer's ack floor. Returns 0, or
 * -1 with err. */
int out_lane_bind(struct out_lane *l, natsConnection *nc, char *err, size_t errlen);
int in_lane_bind(struct in_lane *l, natsConnection *nc, char *err, size_t errlen);

/* Starts the lane's thread. Returns 0, or -1 with err. */
int out_lane_start(struct out_lane *l, char *err, size_t errlen);
int in_lane_start(struct in_lane *l, char *err, size_t errlen);
int lane_start(struct lane_common *c, void *(*thread_main)(void *), void *lane, char *err, size_t errlen);

/* Logs the lane's counters (at stop). */
void out_lane_report(const struct out_lane *l);
void in_lane_report(const struct in_lane *l);

/* Fills c's names from its lane argument. */
void lane_common_init(struct lane_common *c, const struct lane_arg *arg, int stop_fd);

/* Monotonic milliseconds. */
int64_t lane_now_ms(void);

/* A lane that cannot go on (a channel error, a message it can never
 * carry): logged, then the process exits so the supervisor restarts it;
 * the state memfd keeps the progress. */
_Noreturn void lane_fatal(const struct lane_common *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
