/* SPDX-License-Identifier: Apache-2.0 */
#include "deadline.h"

#include <stddef.h>

void deadlines_init(struct deadlines *d, uint64_t head_ms, uint64_t body_ms, uint64_t idle_ms)
{
	for (int p = 0; p < DEADLINE_PHASES; p++)
		d->list[p].prev = d->list[p].next = &d->list[p];
	d->timeout_ms[DEADLINE_HEAD] = head_ms;
	d->timeout_ms[DEADLINE_BODY] = body_ms;
	d->timeout_ms[DEADLINE_IDLE] = idle_ms;
}

bool deadline_armed(const struct deadline *e)
{
	return e->next != NULL;
}

void deadline_disarm(struct deadline *e)
{
	if (!deadline_armed(e))
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

void deadline_arm(struct deadlines *d, struct deadline *e, enum deadline_phase phase, uint64_t now_ms)
{
	deadline_disarm(e);
	struct deadline *tail = d->list[phase].prev;
	e->at_ms = now_ms + d->timeout_ms[phase];
	e->phase = phase;
	e->prev = tail;
	e->next = &d->list[phase];
	tail->next = e;
	d->list[phase].prev = e;
}

struct deadline *deadline_pop_expired(struct deadlines *d, uint64_t now_ms)
{
	for (int p = 0; p < DEADLINE_PHASES; p++) {
		struct deadline *first = d->list[p].next;
		if (first != &d->list[p] && first->at_ms <= now_ms) {
			deadline_disarm(first);
			return first;
		}
	}
	return NULL;
}

uint64_t deadline_next_ms(const struct deadlines *d)
{
	uint64_t next = UINT64_MAX;
	for (int p = 0; p < DEADLINE_PHASES; p++) {
		const struct deadline *first = d->list[p].next;
		if (first != &d->list[p] && first->at_ms < next)
			next = first->at_ms;
	}
	return next;
}
