/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's log lines: plain "LEVEL: text\n" on fd 2, one write(2)
 * each, as every role writes them (the supervisor reads the pipe and
 * formats them; roles/role.h). Thread-safe: each line is formatted on
 * the caller's stack and written whole. */
#ifndef MPBS_BRIDGE_LOGLINE_H
#define MPBS_BRIDGE_LOGLINE_H

void log_line(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define bridge_error(...) log_line("error", __VA_ARGS__)
#define bridge_warning(...) log_line("warning", __VA_ARGS__)
#define bridge_info(...) log_line("info", __VA_ARGS__)

#endif
