/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel's own word on a seccomp kill.
 *
 * A call no policy allows kills the role outright (SECCOMP_RET_KILL_PROCESS):
 * no handler of the role runs, so nothing inside it can survive the denial,
 * hide it or misname it. Which call it was comes from the audit record
 * (AUDIT_SECCOMP, type 1326) the kernel emits for the kill, read by the
 * supervisor from the audit netlink multicast group (CAP_AUDIT_READ). A
 * kernel that emits none (audit compiled out, or kill_process taken out of
 * kernel.seccomp.actions_logged) still kills; the kill is then unnamed. */
#ifndef MPBS_SECCOMP_LOG_H
#define MPBS_SECCOMP_LOG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SECCOMP_LOG_RECENT 128

struct seccomp_kill {
	pid_t pid;   /* in the supervisor's (the host's) pid namespace */
	uid_t uid;   /* host uid: the role it ran as */
	long nr;     /* the syscall number */
	int native;  /* the arch was the supervisor's own (not int 0x80, not x32) */
};

struct seccomp_log {
	int fd; /* -1: not open (the kills are then unnamed) */
	struct seccomp_kill recent[SECCOMP_LOG_RECENT];
	size_t next;
	char buf[8192]; /* records of every process's kills: never on the stack */
};

/* Joins the audit log's multicast group. Returns 0, or -1 with err set and
 * l->fd = -1 (the caller warns once; kills still happen). */
int seccomp_log_open(struct seccomp_log *l, char *err, size_t errlen);
void seccomp_log_close(struct seccomp_log *l);

/* Reads every record waiting on the socket (non-blocking); keeps the last
 * SECCOMP_LOG_RECENT seccomp kills, and calls each(k, ctx) (when not NULL)
 * for every kill read. */
void seccomp_log_drain_each(struct seccomp_log *l, void (*each)(const struct seccomp_kill *k, void *ctx), void *ctx);

/* The kill the kernel reported for pid, waiting up to wait_ms for its
 * record (the kernel's audit thread sends it after the process is gone).
 * Returns 1 and *out, or 0. */
int seccomp_log_find(struct seccomp_log *l, pid_t pid, int wait_ms, struct seccomp_kill *out);

/* The same, calling each(k, ctx) for every kill read on the way. */
int seccomp_log_find_each(struct seccomp_log *l, pid_t pid, int wait_ms, struct seccomp_kill *out,
			  void (*each)(const struct seccomp_kill *k, void *ctx), void *ctx);

/* Whether the child whose end waitid() reported in si was killed by
 * SIGSYS: how a seccomp kill (SECCOMP_RET_KILL_PROCESS) ends a process. */
bool seccomp_log_killed(const siginfo_t *si);

/* How the audit's rows name a seccomp kill: what a row expects, and the
 * start of what seccomp_log_describe writes. */
#define SECCOMP_LOG_KILL_TEXT "SIGSYS"

/* "SIGSYS (socket)" for pid's kill, as the audit's rows show it; "SIGSYS (no
 * audit record)" when the kernel sent none within two seconds. */
void seccomp_log_describe(struct seccomp_log *l, pid_t pid, char *buf, size_t len);

/* Parses one AUDIT_SECCOMP record's text ("audit(...): auid=... pid=N ...
 * arch=c000003e syscall=41 ..."). Returns 0, or -1 if a field is missing.
 * Exposed for its unit test. */
int seccomp_log_parse(const char *text, size_t len, struct seccomp_kill *out);

#endif
