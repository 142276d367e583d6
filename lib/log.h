/* SPDX-License-Identifier: Apache-2.0 */
/* Logging shared by every process: one line per event on stderr, one
 * write(2) per line. A role's stderr is its own log pipe: the supervisor
 * puts the role's label in front of each line (runner/role_log.c), so a
 * role logs with no prefix of its own. */
#ifndef MPBS_LOG_H
#define MPBS_LOG_H

/* Sets the prefix of every following line ("mpbs-run"; "" for none).
 * The string is copied. */
void log_init(const char *who);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error with ": strerror(errno)" appended; errno is preserved. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
