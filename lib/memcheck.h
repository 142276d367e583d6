/* SPDX-License-Identifier: Apache-2.0 */
/* The memcheck build (`make check-valgrind`, compiled with
 * -DMPBS_MEMCHECK_BUILD) exists to run every role under valgrind memcheck.
 * Valgrind cannot follow a process into either of two sandbox steps: it has
 * no seccomp(2) (and its own system calls would trap under the role's
 * filter) and no landlock_* calls. That build leaves exactly those two steps
 * out, says so at every start, and refuses --audit. Release builds have
 * MEMCHECK_BUILD false and no run-time switch to change that. */
#ifndef MPBS_MEMCHECK_H
#define MPBS_MEMCHECK_H

#include <stdbool.h>

#ifdef MPBS_MEMCHECK_BUILD
#define MEMCHECK_BUILD true
#else
#define MEMCHECK_BUILD false
#endif

#endif
