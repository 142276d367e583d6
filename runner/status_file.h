/* SPDX-License-Identifier: Apache-2.0 */
/* The state file of a running instance, what `mpbs-run status` reads: a
 * JSON object the supervisor rewrites every second in the runtime
 * directory (runtime_dir.h), owner-only (0600), replaced whole by rename
 * so a reader never sees half of one.
 *
 * A file rather than a control socket: the supervisor's loop answers no
 * client, so no reader (slow, stuck or hostile) can stall it or make it
 * allocate, and nothing new listens; what it costs is freshness (at most a
 * second old, which is what the roles' own counters are). A file left by a
 * supervisor that was killed is told by its pid (status_file_is_live).
 *
 * Its name: "<topology file's name without .conf>-<8 hex digits of the
 * SHA-256 of the ledger's path>" + STATUS_FILE_SUFFIX: one per ledger, as
 * one instance holds a ledger (instance_lock.h). */
#ifndef MPBS_STATUS_FILE_H
#define MPBS_STATUS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define STATUS_FILE_SUFFIX ".status.json"
#define STATUS_FILE_VERSION 1
#define STATUS_NAME_MAX 128

/* The instance's name (no suffix) from its topology path and ledger path. */
void status_file_name(const char *topology_path, const char *ledger, char *name, size_t cap);

/* Writes state as dir/name + STATUS_FILE_SUFFIX, mode 0600, through a
 * temporary file and rename. Returns 0, or -1 with err set. */
int status_file_write(int dir, const char *name, const json_t *state, char *err, size_t errlen);

/* Removes it (at stop); a missing file is no error. */
void status_file_remove(int dir, const char *name);

/* Whether the supervisor that wrote state still runs: its "pid" names a
 * live process whose start time is the file's "pid_start" (so a pid
 * reused after a kill does not count). */
bool status_file_is_live(const json_t *state);

/* The start time of pid (field 22 of /proc/PID/stat, clock ticks since
 * boot), or 0 if it is gone. */
unsigned long long status_pid_start(int pid);

#endif
