/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "state_map.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <sodium.h>

struct bridge_state *state_map_lane(int fd, enum bridge_state_lane lane, bool replay_ring, char *err,
				    size_t errlen)
{
	struct stat st;
	uint32_t need = bridge_state_bytes(lane == BRIDGE_STATE_OUT, replay_ring);
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "state fd %d: %s", fd, strerror(errno));
		return NULL;
	}
	if (st.st_size < (off_t)need) {
		snprintf(err, errlen, "state fd %d: %lld bytes, fewer than the %u its lane's state takes", fd,
			 (long long)st.st_size, need);
		return NULL;
	}
	void *p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "state fd %d: mmap: %s", fd, strerror(errno));
		return NULL;
	}
	struct bridge_state *s = p;
	if (s->magic == 0) {
		/* a fresh memfd: this lane's first incarnation of the run */
		s->version = BRIDGE_STATE_VERSION;
		s->lane = (uint32_t)lane;
		if (lane == BRIDGE_STATE_OUT) {
			while (s->u.out.lane_epoch == 0)
				randombytes_buf(&s->u.out.lane_epoch, sizeof(s->u.out.lane_epoch));
			s->u.out.first_seq = 1;
			s->u.out.next_seq = 1;
		}
		state_barrier();
		s->magic = BRIDGE_STATE_MAGIC;
		return s;
	}
	const char *why = s->magic != BRIDGE_STATE_MAGIC ? "not a bridge state (magic)"
			  : s->version != BRIDGE_STATE_VERSION ? "written by another version of the layout"
			  : s->lane != (uint32_t)lane ? "the state of a lane of the other direction"
			  : NULL;
	if (!why && lane == BRIDGE_STATE_OUT &&
	    (s->u.out.next_seq < s->u.out.first_seq || s->u.out.next_seq - s->u.out.first_seq > BRIDGE_WINDOW_MAX))
		why = "in-flight range out of bounds";
	if (!why && lane == BRIDGE_STATE_IN && replay_ring &&
	    (s->u.in.replay_end < s->u.in.replay_start ||
	     s->u.in.replay_end - s->u.in.replay_start > BRIDGE_REPLAY_BYTES))
		why = "replay ring out of range";
	if (why) {
		snprintf(err, errlen, "state fd %d: %s", fd, why);
		munmap(p, need);
		return NULL;
	}
	return s;
}
