/* SPDX-License-Identifier: Apache-2.0 */
/* Mapping a lane's state memfd (the layout is state.h). */
#ifndef MPBS_BRIDGE_STATE_MAP_H
#define MPBS_BRIDGE_STATE_MAP_H

#include <stddef.h>

#include "state.h"

/* Keeps the compiler from moving a store to the memfd across it: the
 * state's consistency after a SIGKILL is the program order of the
 * stores (a killed thread stops between instructions, and a later
 * incarnation reads the same pages, so no CPU fence is needed). */
#define state_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Maps fd (MAP_SHARED; at least bridge_state_bytes() for the lane, the
 * replay ring with it if asked). A zeroed one is initialised for lane (an
 * out lane gets its random epoch); one already written must be of this
 * layout and lane. Returns the mapping, or NULL with err. */
struct bridge_state *state_map_lane(int fd, enum bridge_state_lane lane, bool replay_ring, char *err,
				    size_t errlen);

#endif
