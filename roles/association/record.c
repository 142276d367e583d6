/* SPDX-License-Identifier: Apache-2.0 */
/* The records of outcomes in the association's ledger: a provider's frame
 * rejected, an operation confirmed or closed incomplete when it ages out,
 * each with the providers whose both stages are covered. Confirmations are
 * queued here for the log, which commit.c prints once a sync covers them. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "association_internal.h"

/* Bit i: provider i's START and COMPLETE of e are both covered. */
static uint64_t both_mask(const struct association *as, const struct pending_op *e)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (e->have[i] == STAGES_BOTH)
			mask |= UINT64_C(1) << i;
	return mask;
}

static int record_closed(struct association *as, uint8_t type, const struct pending_op *e)
{
	if (as->replaying)
		return 0;
	if (l2_closed(&as->ledger, type, e->op, both_mask(as, e)) < 0) {
		log_errno("ledger: cannot buffer a %s record", type == L2_CONFIRMED ? "confirmed" : "incomplete");
		return -1;
	}
	return 0;
}

int record_rejected(struct association *as, struct peer *pr, const char *reason)
{
	as->rejected++;
	if (as->replaying)
		return 0;
	log_warn("provider %s: rejected: %s", pr->cfg->name, reason);
	if (l2_rejected(&as->ledger, (uint8_t)(pr - as->peers), reason) < 0) {
		log_errno("ledger: cannot buffer a rejected record");
		return -1;
	}
	return 0;
}

static void report_confirmation(struct association *as, const uint8_t op[WIRE_DIGEST_LEN], size_t n_providers)
{
	if (as->replaying)
		return;
	if (as->report_len == as->report_cap) {
		size_t cap = as->report_cap ? as->report_cap * 2 : 256;
		struct reported *nb = reallocarray(as->report, cap, sizeof(*nb));
		if (!nb)
			return; /* the log is best effort; the ledger is the record */
		as->report = nb;
		as->report_cap = cap;
	}
	struct reported *r = &as->report[as->report_len++];
	memcpy(r->op, op, WIRE_DIGEST_LEN);
	r->n_providers = (uint8_t)n_providers; /* at most 64 */
}

int record_confirmation(struct association *as, struct pending_op *e)
{
	e->recorded = true;
	as->confirmed++;
	report_confirmation(as, e->op, (size_t)__builtin_popcountll(both_mask(as, e)));
	return record_closed(as, L2_CONFIRMED, e);
}

int record_expire(struct association *as, struct pending_op *e)
{
	int rc = 0;
	if (!e->confirmed) {
		as->incomplete++;
		rc = record_closed(as, L2_INCOMPLETE, e);
	}
	pending_remove(&as->pending, e);
	return rc;
}

int record_expire_aged(struct association *as)
{
	uint64_t now_ms = clock_mono_ms();
	uint64_t age_ms = (uint64_t)as->cfg->pending_timeout * 1000u;
	struct pending_op *e;
	while ((e = pending_oldest(&as->pending)) && now_ms - e->created_ms >= age_ms)
		if (record_expire(as, e) < 0)
			return -1;
	return 0;
}
