/* SPDX-License-Identifier: Apache-2.0 */
/* Deadlines of the intermediary's connections. The idle deadline moves
 * with every byte a client sends (`timeout`); the read deadlines stop
 * slowloris clients, which keep a connection busy by sending a byte now and
 * then (the idle deadline never fires for them): a request head must be
 * complete within one timeout of the moment the connection could send it
 * (it opened, or the previous request was complete), its body within
 * another timeout of the head. Every deadline on a phase's list is "now +
 * that phase's timeout", so each list stays sorted by arrival and expiry
 * looks at list heads only: O(1) per connection event, O(expired) per
 * check. */
#ifndef MPBS_DEADLINE_H
#define MPBS_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

enum deadline_phase { DEADLINE_HEAD, DEADLINE_BODY, DEADLINE_IDLE, DEADLINE_PHASES };

struct deadline {
	struct deadline *prev, *next; /* on its phase's list while armed */
	uint64_t at_ms;
	enum deadline_phase phase; /* of the last arm */
};

struct deadlines {
	struct deadline list[DEADLINE_PHASES]; /* circular, each its own sentinel */
	uint64_t timeout_ms[DEADLINE_PHASES];
};

void deadlines_init(struct deadlines *d, uint64_t head_ms, uint64_t body_ms, uint64_t idle_ms);

/* (Re)arms E for PHASE, due at now_ms + that phase's timeout. */
void deadline_arm(struct deadlines *d, struct deadline *e, enum deadline_phase phase, uint64_t now_ms);

/* Takes E off its list; harmless when it is not armed. */
void deadline_disarm(struct deadline *e);

bool deadline_armed(const struct deadline *e);

/* Disarms and returns one entry due at or before now_ms, or NULL. */
struct deadline *deadline_pop_expired(struct deadlines *d, uint64_t now_ms);

/* When the earliest armed deadline is due, UINT64_MAX when none is. */
uint64_t deadline_next_ms(const struct deadlines *d);

#endif
