/* SPDX-License-Identifier: Apache-2.0 */
/* What a role must not inherit from the supervisor's memory.
 *
 * Roles are forks of the supervisor, so each starts with a copy of its
 * memory. Everything another role ever said passes through that memory on
 * its way to the log (log lines, status records, the kernel's records of
 * seccomp kills): a restarted intermediary could read the association's
 * "confirmed" lines there, and a provider could leave words for the next
 * fork. So those bytes live only in memory the kernel gives a child zeroed
 * (MADV_WIPEONFORK), and a new role wipes the dead part of the stack it
 * copied before any step of its own. */
#ifndef MPBS_FORKWIPE_H
#define MPBS_FORKWIPE_H

#include <stddef.h>

/* Zeroed memory of len bytes that a forked child sees zeroed again (its
 * own copy is wiped by the kernel at fork). Returns NULL with errno set. */
void *forkwipe_alloc(size_t len);
void forkwipe_free(void *p, size_t len);

/* In a new child: zeroes the stack below the caller's frame (what the
 * parent's deeper calls left there). Returns 0, or -1 if the stack's
 * bounds could not be read. */
int forkwipe_dead_stack(void);

#endif
