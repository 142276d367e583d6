/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-bridge --init: creates each --stream's stream and durable pull
 * consumer, idempotently (an existing one with the same configuration is
 * fine, a different one is an error naming it). Run by the operator
 * through `mpbs-run nats-init`, not sandboxed. */
#ifndef MPBS_BRIDGE_INIT_H
#define MPBS_BRIDGE_INIT_H

#include "args.h"

/* Prints one line per stream and consumer ("created" / "exists") on
 * stdout. Returns the exit status: 0, or 1 with the server's error text
 * on stderr. */
int init_run(const struct bridge_args *args);

#endif
