/* SPDX-License-Identifier: Apache-2.0 */
/* The layout of a lane's state memfd: what survives a kill of the bridge.
 *
 * The supervisor creates one memfd per lane of bridge_state_bytes() for it
 * (a few KiB for an out lane, 1 MiB more for a sig in lane's replay ring), zeroed,
 * holds it for the whole run and hands the same one to every incarnation
 * of the bridge. The bridge maps it MAP_SHARED and writes it with plain
 * stores, so a SIGKILL leaves it exactly as last stored; the order of the
 * stores is what makes it consistent (lane_out.c and lane_in.c say which
 * order, and what one kill between two stores can repeat).
 *
 * This header is included by the supervisor for bridge_state_bytes(): it
 * must need nothing but the C library (no libnats). */
#ifndef MPBS_BRIDGE_STATE_H
#define MPBS_BRIDGE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_STATE_MAGIC 0x5342504du /* "MPBS" little-endian */
#define BRIDGE_STATE_VERSION 1u

/* The largest --window: the in-flight table has this many slots. */
#define BRIDGE_WINDOW_MAX 256u
/* The replay ring of a sig in lane: the last messages written, as
 * [u32 LE length][bytes] records in a byte ring. Bytes, not 4096 slots
 * of 256: a signal channel message is a datagram of up to 64 frames
 * (lib/wire.h SIGNAL_DATAGRAM_FRAMES), 9,984 bytes. 1 MiB holds at least
 * the last 6,500 frames whatever their packing. */
#define BRIDGE_REPLAY_BYTES (1u << 20)
/* A longer message is not kept for replay (no signal datagram is). */
#define BRIDGE_REPLAY_MSG_MAX 65536u

/* Which lane a memfd belongs to, written with the magic the first time:
 * a memfd handed to the wrong lane is refused, not reinterpreted. */
enum bridge_state_lane { BRIDGE_STATE_OUT = 1, BRIDGE_STATE_IN = 2 };

/* One published batch not yet consumed from the channel. digest is a
 * BLAKE2b-128 of the batch's payload: after a restart it tells whether
 * the oldest batch is still at the channel's head or was consumed just
 * before the kill (the consume and the state update cannot be one step). */
struct bridge_inflight {
	uint32_t msgs;
	uint32_t payload_bytes;
	uint8_t digest[16];
};

struct bridge_out_state {
	uint64_t lane_epoch; /* random, never 0 once set */
	/* The batches in flight are first_seq .. next_seq - 1 (none when
	 * equal). Each moves by one store: a new batch's slot is written,
	 * then next_seq; a consumed batch is one first_seq++. */
	uint64_t first_seq;
	uint64_t next_seq;
	/* slot of batch s: s % BRIDGE_WINDOW_MAX */
	struct bridge_inflight slot[BRIDGE_WINDOW_MAX];
};

struct bridge_in_state {
	uint64_t delivered_seq; /* last stream sequence fully written */
	uint64_t partial_seq;   /* stream sequence being written ... */
	uint32_t partial_done;  /* ... and how many of its messages were */
	uint32_t reserved;
	/* The ring holds the records from byte replay_start to replay_end
	 * (running counts; the byte at count c is replay[c % BYTES]). A
	 * record is added by moving replay_start past the oldest ones it
	 * overwrites, then writing it, then moving replay_end. */
	uint64_t replay_start;
	uint64_t replay_end;
	uint8_t replay[BRIDGE_REPLAY_BYTES];
};

struct bridge_state {
	uint32_t magic;   /* 0 in a fresh memfd, then BRIDGE_STATE_MAGIC */
	uint32_t version; /* BRIDGE_STATE_VERSION */
	uint32_t lane;    /* enum bridge_state_lane */
	uint32_t reserved;
	union {
		struct bridge_out_state out;
		struct bridge_in_state in;
	} u;
};

/* Whole pages: the memfd is mapped as a whole. */
#define BRIDGE_STATE_PAGE 4096u
#define BRIDGE_STATE_ROUND(n) ((uint32_t)(((n) + BRIDGE_STATE_PAGE - 1) / BRIDGE_STATE_PAGE * BRIDGE_STATE_PAGE))
/* The largest: a sig in lane's, with its replay ring. */
#define BRIDGE_STATE_BYTES BRIDGE_STATE_ROUND(sizeof(struct bridge_state))

/* What a lane's memfd holds: an out lane its in-flight table; an in lane
 * its counters, and a sig in lane the replay ring besides. */
static inline uint32_t bridge_state_bytes(bool out, bool replay_ring)
{
	return out	       ? BRIDGE_STATE_ROUND(offsetof(struct bridge_state, u) + sizeof(struct bridge_out_state))
	       : replay_ring ? BRIDGE_STATE_BYTES
			     : BRIDGE_STATE_ROUND(offsetof(struct bridge_state, u.in.replay));
}

#endif
