/* SPDX-License-Identifier: Apache-2.0 */
/* One instance per ledger and per uid range. A run (and `--audit`, which
 * spawns the same roles under the same uids) holds, from before anything
 * starts until it exits:
 *   - an OFD write lock on LEDGER.lock beside the ledger, a name that no
 *     rotation moves; and a look for the lock runner/segments.c holds on
 *     the live segment and the spare for the whole run, so a second run on
 *     the same ledger (through a symlinked directory, or a hard link of the
 *     live segment) is refused before it renames a segment, cuts a torn
 *     tail or appends a record;
 *   - an OFD write lock on the bytes [uid_base, uid_base + span) of
 *     INSTANCE_UIDS_LOCK in the runtime directory, so two runs whose host uid ranges overlap
 *     conflict in the kernel, with nothing to parse.
 * OFD locks belong to the open file description: the kernel drops them when
 * the supervisor dies, also by SIGKILL, and both fds are O_CLOEXEC and
 * above the fds a role keeps (spawn.c closes everything else), so no role
 * holds them. */
#ifndef MPBS_INSTANCE_LOCK_H
#define MPBS_INSTANCE_LOCK_H

#include <stddef.h>
#include <stdint.h>

/* Exit status of a run refused because another instance holds its ledger
 * or an overlapping uid range (EX_TEMPFAIL: it may start once that one
 * stops). */
#define EX_INSTANCE_BUSY 75

/* In the runtime directory (runtime_dir.h). */
#define INSTANCE_UIDS_LOCK "uids.lock"

/* Beside the ledger: LEDGER.lock, empty, left in place. */
#define INSTANCE_LEDGER_LOCK_SUFFIX ".lock"
#define INSTANCE_LEDGER_LOCK_MODE 0600

struct instance_lock {
	int lock_fd;   /* LEDGER.lock */
	int uids_fd;
};

/* Takes both locks (the ledger's alone with uid_span 0: a rootless run,
 * whose roles all run as the caller's own uid). Returns 0; EX_INSTANCE_BUSY when another instance
 * holds the ledger or an overlapping uid range; -1 on any other error.
 * err says which (ledger path, both uid ranges). */
int instance_lock_acquire(struct instance_lock *l, const char *ledger, uint32_t uid_base, uint32_t uid_span,
			  char *err, size_t errlen);
void instance_lock_release(struct instance_lock *l);

#endif
