/* SPDX-License-Identifier: Apache-2.0 */
/* The rebuild of a restarted association from its own ledger: the records
 * ledger_replay.h hands back go through the frame handlers (frames.c) with
 * writing turned off, and what the ledger says was closed is closed. */
#include <inttypes.h>
#include <string.h>
#include <sys/types.h>

#include "association_internal.h"
#include "ledger_replay.h"

static ssize_t peer_index(const struct association *as, const char *name)
{
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (strcmp(as->cfg->providers[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static void replay_signal(void *ctx, const struct signal_frame *s)
{
	struct association *as = ctx;
	ssize_t who = peer_index(as, s->provider);
	if (who >= 0)
		peer_on_signal(as, (size_t)who, s);
}

static void replay_checkpoint(void *ctx, const struct checkpoint_frame *c)
{
	struct association *as = ctx;
	ssize_t who = peer_index(as, c->provider);
	if (who >= 0)
		peer_on_checkpoint(as, (size_t)who, c);
}

static void replay_closed(void *ctx, const uint8_t op[WIRE_DIGEST_LEN], bool confirmed)
{
	struct association *as = ctx;
	struct pending_op *e = pending_find(&as->pending, op);
	if (!e)
		return;
	if (confirmed) {
		e->confirmed = e->recorded = true;
		if (e->complete < as->cfg->n_providers)
			return; /* K of N: it absorbs late signals until it ages out */
	}
	pending_remove(&as->pending, e);
}

/* A kill between a checkpoint's record and the `confirmed` it made (one
 * write can be cut between them) leaves an operation the rule confirms
 * with no record: written now, once. Returns how many, or -1. */
static int confirm_unrecorded(struct association *as)
{
	int n = 0;
	struct pending_op *e = pending_oldest(&as->pending), *next;
	for (; e; e = next) {
		next = pending_next(&as->pending, e);
		if (!e->confirmed || e->recorded)
			continue;
		if (record_confirmation(as, e) < 0)
			return -1;
		n++;
		if (e->complete == as->cfg->n_providers)
			pending_remove(&as->pending, e);
	}
	return n;
}

/* A restarted association first walks its own ledger through the same
 * code that built it, with writing turned off: chain heads, uncovered
 * signals and pending operations come back as they were, so the frames
 * still queued in the channels (the supervisor kept them) continue them. */
int rebuild_from_ledger(struct association *as)
{
	static const struct ledger_replay_ops ops = { replay_signal, replay_checkpoint, replay_closed };
	char err[256];
	if (as->ledger.seq == 0)
		return 0;
	as->replaying = true;
	int rc = ledger_replay(as->cfg->ledger_fd, &ops, as, err, sizeof(err));
	as->replaying = false;
	if (rc < 0) {
		log_error("ledger: rebuild: %s", err);
		return -1;
	}
	as->confirmed = as->incomplete = as->rejected = 0;
	int late = confirm_unrecorded(as);
	if (late < 0)
		return -1;
	log_info("rebuilt from %" PRIu64 " ledger records: %u operations pending", as->ledger.seq, as->pending.used);
	if (late)
		log_info("confirmed %d operations the ledger had covered but not yet recorded as confirmed", late);
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		as->peers[i].resyncing = as->peers[i].chain.trusted;
	return 0;
}
