/* SPDX-License-Identifier: Apache-2.0 */
/* Where the supervisor puts a bridge's lane channels: fd BRIDGE_FD_CHANNELS
 * and up, one per lane, above a gap of closed numbers. Every fd the bridge
 * makes itself (its NATS sockets, eventfds, the signalfd) takes a lower
 * number, so policy/bridge.policy tells a lane from a TCP connection by
 * the fd number alone (it writes 512; tests/unit/test_seccomp_policy.c
 * compares). Included by the supervisor (runner/plan_bridge.h): the C
 * library only. */
#ifndef MPBS_BRIDGE_FD_FLOOR_H
#define MPBS_BRIDGE_FD_FLOOR_H

#define BRIDGE_FD_CHANNELS 512

#endif
