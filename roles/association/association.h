/* SPDX-License-Identifier: Apache-2.0 */
/* The association: a non-authoritative observer. It reads each provider's
 * signal channel (the channel, given by the supervisor, says who the
 * provider is), checks the chain and the signed checkpoints, records
 * everything in the ledger and writes `confirmed` when the rule holds.
 * It can reach no provider: every channel it holds is read-only. */
#ifndef MPBS_ASSOCIATION_H
#define MPBS_ASSOCIATION_H

#include <stddef.h>
#include <stdint.h>

#include "../role.h"

/* The fds the association receives (runner/plan_roles.c hands them over
 * in this order): the ledger's live segment, its end of the segments
 * socket (a fixed number, so that its seccomp policy can name it), one
 * signal channel read end per provider in the topology's order, its status
 * pipe. */
#define ASSOCIATION_FD_LEDGER ROLE_FD_FIRST
#define ASSOCIATION_FD_SEGMENTS (ROLE_FD_FIRST + 1)
#define ASSOCIATION_FD_SIGNAL(i) (ASSOCIATION_FD_SEGMENTS + 1 + (int)(i))
#define ASSOCIATION_FD_STATUS(n_providers) ASSOCIATION_FD_SIGNAL(n_providers)

/* The segments socket (SOCK_SEQPACKET, docs/LEDGER.md "Files"): how the
 * association rotates without opening a file.
 *  - supervisor to association: SEGMENTS_MSG_SPARE, one byte, with one fd
 *    in SCM_RIGHTS: an empty file (O_RDWR|O_APPEND, append-only at the
 *    inode where it can be) that will be the next live segment. Sent once
 *    the association is started and again after each rotation is
 *    processed; the association holds at most one.
 *  - association to supervisor: SEGMENTS_MSG_SEALED, then the sealed
 *    segment's number (u32 big endian), 5 bytes, written once the seal is
 *    durable and the next segment's first block is written to the spare: the
 *    supervisor renames the sealed file to LEDGER.NNNNNN and the spare to
 *    LEDGER, applies the retention and sends a new spare. */
#define SEGMENTS_MSG_SPARE 'N'
#define SEGMENTS_MSG_SEALED 'S'
#define SEGMENTS_MSG_SEALED_LEN 5

/* Datagrams it reads from one signal channel per loop round (one recvmmsg),
 * for fairness between providers: up to this many times
 * SIGNAL_DATAGRAM_FRAMES frames, which a kill of the association can leave
 * read and unrecorded (lib/journal.h). Each has a static buffer of
 * SIGNAL_DATAGRAM_MAX bytes (frames.c) that a full datagram makes resident:
 * 4 of them, 40 KiB, still 256 frames per provider per round. */
#define ASSOCIATION_READ_DATAGRAMS 4

struct association_provider {
	const char *name;
	uint8_t public_key[32];
	uint32_t checkpoint_every; /* most uncovered signals it may have in flight */
	int signal_fd;             /* read-only end */
};

struct association_config {
	size_t n_providers;
	const struct association_provider *providers;
	int ledger_fd;             /* the live segment: O_RDWR|O_APPEND, opened by the supervisor */
	int segments_fd;           /* its end of the segments socket (above) */
	uint64_t segment_size;     /* rotate when the live segment reaches this many bytes */
	uint32_t segment_age;      /* or is this many seconds old (0: no age limit) */
	const char *head_key_path; /* its Ed25519 secret key, read before the seal (ledger heads) */
	unsigned confirm_k;        /* 1..n_providers (all = n_providers) */
	uint32_t pending_timeout;  /* seconds */
	uint32_t pending_max;
	int status_fd;
};

struct role_seal;

/* seal: installed just before the main loop (see role.h). */
int association_main(const struct association_config *cfg, const struct role_seal *seal);

#endif
