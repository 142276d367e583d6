/* Logging shared by every process: one line per event on stderr, prefixed
 * with the process's role so the supervisor's merged stream stays readable. */
#ifndef MPBS_LOG_H
#define MPBS_LOG_H

/* Sets the prefix of every following line ("mpbs-run", "provider A", ...).
 * The string is copied. */
void log_init(const char *who);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error with ": strerror(errno)" appended; errno is preserved. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
