/* SPDX-License-Identifier: Apache-2.0 */
/* The replay a restarted association rebuilds from (docs/ARCHITECTURE.md
 * §7); only the association reads its ledger back this way. */
#ifndef MPBS_LEDGER_REPLAY_H
#define MPBS_LEDGER_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/wire.h"

/* Replays the records of a ledger the writer already accepted (after
 * ledger_writer_open), as the frames they record, so a restarted
 * association rebuilds its chains and pending operations before it reads a
 * channel. Callbacks may be NULL. Returns 0, or -1 with errbuf set. */
struct ledger_replay_ops {
	void (*signal)(void *ctx, const struct signal_frame *s);
	void (*checkpoint)(void *ctx, const struct checkpoint_frame *c);
	/* a confirmed (confirmed = true) or incomplete record closed this operation */
	void (*closed)(void *ctx, const uint8_t op[WIRE_DIGEST_LEN], bool confirmed);
};

int ledger_replay(int fd, const struct ledger_replay_ops *ops, void *ctx, char *errbuf, size_t errlen);

#endif
