/* SPDX-License-Identifier: Apache-2.0 */
/* Live counters: what each kind of role counts, reported to the supervisor
 * as a 'C' record on its status fd (roles/role.h) about once a second while
 * they change, and once more at stop. The lists below are the only place a
 * layout is defined: the role fills an array indexed by its enum, the
 * record carries the array, and the supervisor and `mpbs-run status` name
 * each value from the same list (runner/role_table.c links a kind to its
 * list).
 *
 * Record: 'C', u16 length (little-endian), then length bytes: the role's
 * values as u64 little-endian, in list order. The length must be exactly
 * 8 x the kind's count; anything else is refused (a role is untrusted).
 * Nothing is ever sent back: the status fd is a one-way pipe. */
#ifndef MPBS_ROLE_COUNTERS_H
#define MPBS_ROLE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ROLE_STATUS_COUNTERS 'C'

/* A counter only grows during one process's life (the supervisor adds up
 * a role's restarts); a gauge is a value now. */
enum role_counter_type { ROLE_COUNTER, ROLE_GAUGE };

/* X(name, type, help) */
#define ROLE_COUNTERS_INTERMEDIARY(X)                                                                      \
	X(requests, ROLE_COUNTER, "POST requests answered with 204")                                        \
	X(oversize, ROLE_COUNTER, "requests over max_request (answered, not forwarded)")                   \
	X(bad_header, ROLE_COUNTER, "requests refused for a bad context or token header")                  \
	X(timed_out, ROLE_COUNTER, "connections cut past their read deadline")                             \
	X(half_closed, ROLE_COUNTER, "half-closed connections closed")                                     \
	X(artifacts_written, ROLE_COUNTER, "artifacts written to the providers' channels")                \
	X(artifacts_dropped, ROLE_COUNTER, "artifacts dropped on a full provider channel")                 \
	X(artifacts_failed, ROLE_COUNTER, "artifacts not written for another error")                       \
	X(stalls, ROLE_COUNTER, "times new requests waited for a congested channel")

#define ROLE_COUNTERS_ASSOCIATION(X)                                                                       \
	X(signals, ROLE_COUNTER, "provider signals received")                                              \
	X(checkpoints, ROLE_COUNTER, "provider checkpoints received")                                      \
	X(confirmed, ROLE_COUNTER, "operations recorded as confirmed")                                     \
	X(incomplete, ROLE_COUNTER, "operations recorded as incomplete")                                   \
	X(rejected, ROLE_COUNTER, "provider frames recorded as rejected")                                  \
	X(pending, ROLE_GAUGE, "operations pending now")

#define ROLE_COUNTERS_PROVIDER(X)                                                                          \
	X(artifacts, ROLE_COUNTER, "artifacts received")                                                   \
	X(refused, ROLE_COUNTER, "artifacts refused (malformed, or by its policy)")                        \
	X(initiated, ROLE_COUNTER, "operations initiated")                                                 \
	X(signals, ROLE_COUNTER, "signals sent")                                                           \
	X(checkpoints, ROLE_COUNTER, "checkpoints sent")

#define ROLE_COUNTERS_BRIDGE(X)                                                                            \
	X(batches_out, ROLE_COUNTER, "NATS messages published (each carries many channel messages)")        \
	X(messages_out, ROLE_COUNTER, "channel messages published")                                         \
	X(batches_in, ROLE_COUNTER, "NATS messages consumed and written to channels")                      \
	X(messages_in, ROLE_COUNTER, "channel messages written")                                           \
	X(retries, ROLE_COUNTER, "publishes retried (timeout, election, full stream)")                     \
	X(redelivered, ROLE_COUNTER, "NATS messages delivered again and skipped")

#define ROLE_COUNTER_ENUM_IM(name, type, help) RC_IM_##name,
#define ROLE_COUNTER_ENUM_AS(name, type, help) RC_AS_##name,
#define ROLE_COUNTER_ENUM_PR(name, type, help) RC_PR_##name,
#define ROLE_COUNTER_ENUM_BR(name, type, help) RC_BR_##name,
enum { ROLE_COUNTERS_INTERMEDIARY(ROLE_COUNTER_ENUM_IM) RC_IM_COUNT };
enum { ROLE_COUNTERS_ASSOCIATION(ROLE_COUNTER_ENUM_AS) RC_AS_COUNT };
enum { ROLE_COUNTERS_PROVIDER(ROLE_COUNTER_ENUM_PR) RC_PR_COUNT };
enum { ROLE_COUNTERS_BRIDGE(ROLE_COUNTER_ENUM_BR) RC_BR_COUNT };

/* The longest list. */
#define ROLE_COUNTERS_MAX 16
#define ROLE_COUNTERS_RECORD_MAX (3 + 8 * ROLE_COUNTERS_MAX)

struct role_counter_def {
	const char *name;
	enum role_counter_type type;
	const char *help;
};

struct role_counter_list {
	const struct role_counter_def *defs;
	size_t n;
};

extern const struct role_counter_list role_counters_intermediary, role_counters_association,
	role_counters_provider, role_counters_bridge;

/* How often at most a role reports. */
#define ROLE_COUNTERS_PERIOD_MS 1000

/* A role's side: what it reported last, and when. */
struct role_counters_report {
	int status_fd;
	size_t n;
	uint64_t last[ROLE_COUNTERS_MAX];
	uint64_t last_ms;    /* of the last write tried */
	bool tried, sent_once;
};

/* Before the role seals itself: the status fd becomes non-blocking, so a
 * supervisor that does not read cannot stall the role's loop (a report that
 * does not fit is tried again a period later). Returns 0, or -1 (logged). */
int role_counters_init(struct role_counters_report *r, int status_fd, size_t n);

/* From the role's loop, after each turn: writes a record when the values
 * differ from the last written and a period has passed since (or `final`,
 * at stop, when they differ at all). Returns how long the loop may sleep
 * before a report is due (ms), or -1 if none is. */
int role_counters_tick(struct role_counters_report *r, const uint64_t *values, uint64_t now_ms, bool final);

/* The record of values[n] into rec (ROLE_COUNTERS_RECORD_MAX bytes); returns
 * its length. */
size_t role_counters_encode(uint8_t *rec, const uint64_t *values, size_t n);

/* Parses the record at buf[0, len) for a kind with n counters. Returns the
 * bytes it spans, with values[n] filled; 0 if buf holds only its beginning
 * (wait for more); -1 if it is not such a record (another type byte, or a
 * length other than 8n). */
ssize_t role_counters_parse(const uint8_t *buf, size_t len, size_t n, uint64_t *values);

#endif
