/* SPDX-License-Identifier: Apache-2.0 */
/* The NATS connection: options (servers, user, per-user inbox, TLS,
 * reconnect forever), the error handler through which alone permission
 * violations are seen, and a connect that retries until a deadline. */
#ifndef MPBS_BRIDGE_CONN_H
#define MPBS_BRIDGE_CONN_H

#include <nats/nats.h>
#include <stddef.h>

#include "args.h"

/* The start deadline: NATS unreachable for this long is 'E' + exit 111. */
#define BRIDGE_CONNECT_DEADLINE_MS 30000

/* Reads the credentials (the supervisor's secrets memfd, or the password
 * file of --init) and builds the options: servers, user, per-user inbox,
 * TLS (its CA and certificate are parsed here). No byte from the network
 * yet: the run builds them before its seal. Returns NULL with err. */
natsOptions *conn_options(const struct bridge_args *args, char *err, size_t errlen);

/* Connects, retrying until BRIDGE_CONNECT_DEADLINE_MS, and destroys o.
 * Returns the connection, or NULL with err saying why (the last server
 * error text included). */
natsConnection *conn_connect(natsOptions *o, char *err, size_t errlen);

/* conn_options, then conn_connect (--init, which has no seal). */
natsConnection *conn_open(const struct bridge_args *args, char *err, size_t errlen);

/* Flushes what libnats still buffers (acks are fire-and-forget) for at
 * most timeout_ms, then closes and destroys the connection. */
void conn_close(natsConnection *nc, int64_t timeout_ms);

/* How many times the connection was re-established: a batch published
 * on an earlier connection whose ack did not come never will (the
 * server answered, if at all, on the dead one). */
unsigned conn_generation(void);

/* "text of status (connection's last error)" for a log line. */
void conn_describe(natsConnection *nc, natsStatus s, char *out, size_t len);

#endif
