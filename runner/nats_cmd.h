/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run nats-config TOPOLOGY`: the NATS servers' accounts block for a
 * topology spread over hosts (a user per host part's bridge, allowed only
 * its own subjects, its own consumers and its own inbox), writing each
 * missing password. `mpbs-run nats-init TOPOLOGY`: the streams and their
 * durable consumers, made once with the admin user (docs/MULTIHOST.md). */
#ifndef MPBS_NATS_CMD_H
#define MPBS_NATS_CMD_H

int nats_config_cmd(int argc, char **argv);
int nats_init_cmd(int argc, char **argv);

#endif
