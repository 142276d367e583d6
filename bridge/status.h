/* SPDX-License-Identifier: Apache-2.0 */
/* The status records the bridge writes to the supervisor, the same as
 * every role's (roles/role.h): 'R' once sealed and serving, 'E' + u16 LE
 * length + text when it cannot start. */
#ifndef MPBS_BRIDGE_STATUS_H
#define MPBS_BRIDGE_STATUS_H

/* Writes the 'E' record (cut to the supervisor's record size) and logs
 * the text as an error line too. Returns SPAWN_SETUP_FAILED (111), the
 * exit status that goes with it. fd < 0: only the log line. */
int status_cannot_start(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes 'R'. Returns 0, or -1 (logged). */
int status_ready(int fd);

#endif
