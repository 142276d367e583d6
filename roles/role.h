/* SPDX-License-Identifier: Apache-2.0 */
/* What every role process shares: its status channel to the supervisor and
 * the signalfd through which it learns it must stop. */
#ifndef MPBS_ROLE_H
#define MPBS_ROLE_H

#include <stdbool.h>
#include <stddef.h>

/* Status records a role writes on its status fd (a pipe to the supervisor):
 *   'R'                          reached its main loop
 *   'E' u16 len (LE) + message   it cannot start: a setup step failed, or
 *                                the role found a state no restart repairs
 *   'C' u16 len (LE) + u64s      its live counters, from its loop only
 *                                (roles/role_counters.h)
 * (A seccomp kill is named by the kernel's audit record, not by the role:
 * runner/seccomp_log.h.) */
#define ROLE_STATUS_READY 'R'
#define STATUS_ERROR 'E'
/* The longest status record, as the supervisor buffers them: an 'E'
 * message longer than ROLE_STATUS_RECORD_MAX - 3 bytes is cut to fit. */
#define ROLE_STATUS_RECORD_MAX 512
/* Exit status after an 'E' record: the supervisor does not restart it. */
#define SPAWN_SETUP_FAILED 111
/* Exit status after an 'E' record about the role's own configuration (a
 * provider's policy): the operator must fix a file, no restart repairs it
 * (sysexits' EX_CONFIG, as the run's own exit 78). Believed only before the
 * role is ready (runner/supervise_restart.c says what it does then). */
#define ROLE_CONFIG_INVALID 78

/* The fds a role receives are numbered from here, in the order its plan
 * keeps them (runner/spawn.c moves them there); each role's header names
 * its own. */
#define ROLE_FD_FIRST 3

/* The last sandbox step (seccomp), handed to the role by the supervisor's
 * spawn code: a role opens what it must (its policy, its key, its epoll
 * set), then seals itself just before its main loop, so the filter need not
 * allow the calls of start-up. */
struct role_seal {
	int (*fn)(void *ctx, char *err, size_t errlen);
	void *ctx;
};

/* Seals the role and reports it ready. Returns 0, or -1 (logged): the
 * role must then exit without serving. */
int role_seal_and_report(const struct role_seal *seal, int status_fd);

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE and returns a signalfd for
 * the first two (the supervisor stops roles with SIGTERM), or -1 (logged). */
int role_stop_signalfd(void);

/* Reads one pending signal from the signalfd: its number, or 0. */
int role_read_signal(int sfd);

/* Reads one pending signal from the signalfd; true if it asked to stop. */
bool role_stop_requested(int sfd);

/* Tells the supervisor the role cannot start and why (an 'E' record; the
 * supervisor logs it once), before the role seals itself. Returns
 * SPAWN_SETUP_FAILED, the exit status that goes with it. */
int role_report_cannot_start(int status_fd, const char *why);

/* The same about the role's own configuration (why names the file, line
 * and key). Returns ROLE_CONFIG_INVALID. */
int role_report_bad_config(int status_fd, const char *why);

/* Tells the supervisor the role reached its main loop. */
void role_report_ready(int status_fd);

/* Takes out of this process's page tables every page of code and read-only
 * data (non-writable PT_LOAD segments of the binary and of each library)
 * that start-up faulted in: sandbox set-up, the filter's compilation, the
 * ledger check. They stay in the page cache, shared with every process that
 * maps the same files, and fault back in on their next use, so what remains
 * resident is the loop's own working set. Writable segments (relocated data,
 * .data, .bss) and objects with text relocations are left alone: their
 * private copies must not be dropped. Needs only madvise, so it may run
 * sealed. Returns the bytes released, or -1 (logged) if a call failed. */
long role_release_startup_code(void);

/* Lists those segments ahead of time. The supervisor calls it once before
 * it clones any role: the roles inherit the list and need not walk the
 * program headers themselves, which would fault the first pages of every
 * object (and their neighbours, by fault-around) in just before the release
 * and raise the role's peak RSS by about 300 KiB. Without it, the release
 * lists them itself. */
void role_startup_code_prepare(void);

#endif
