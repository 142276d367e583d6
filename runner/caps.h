/* SPDX-License-Identifier: Apache-2.0 */
/* Capabilities of a role (docs/ARCHITECTURE.md §4): none in any set, bounding set empty,
 * securebits locked so that none can come back (not even through uid 0). */
#ifndef MPBS_CAPS_H
#define MPBS_CAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* In the child, after no_new_privs: locks the securebits (NOROOT,
 * NO_SETUID_FIXUP, KEEP_CAPS off, NO_CAP_AMBIENT_RAISE), empties the bounding
 * and ambient sets, then effective, permitted and inheritable; then reads all
 * of them back. Returns 0, or -1 with err set when any step fails or any
 * capability remains. */
int caps_drop_all(char *err, size_t errlen);

/* Indexes into the masks filled by caps_read_status. */
enum caps_set { CAPS_INH = 0, CAPS_PRM = 1, CAPS_EFF = 2, CAPS_BND = 3, CAPS_AMB = 4 };

/* Host side (tests, audit): parses CapInh, CapPrm, CapEff, CapBnd and CapAmb
 * of /proc/PID/status into masks[CAPS_INH..CAPS_AMB]. Returns 0, or -1 with
 * errno set (ENODATA when a line is missing). */
int caps_read_status(pid_t pid, uint64_t masks[5]);

#endif
