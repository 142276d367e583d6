/* SPDX-License-Identifier: Apache-2.0 */
/* Programs a provider runs inside its own sandbox: its evaluator (decides
 * whether to initiate) and its action handler (the work itself). They
 * inherit the provider's namespaces, uid, Landlock rules and seccomp filter
 * (provider-exec.policy), read the body on stdin (a pipe that already
 * holds all of it), and their output goes to the provider's own log,
 * capped. Each enters, before execve, a Landlock domain nested in the
 * provider's that leaves out the provider's keys and policy file. */
#ifndef MPBS_PROVIDER_EXEC_H
#define MPBS_PROVIDER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Status folded into COMPLETE's value for a run that did not exit:
 * 256 + signal number; a timeout is reported as killed by SIGKILL. */
#define EXEC_STATUS_SIGNALED 256

struct exec_run {
	pid_t pid;
	int pidfd;
	int out_fd;              /* stdout and stderr of the program, non-blocking */
	uint64_t deadline_ms;    /* CLOCK_MONOTONIC */
	bool timed_out;
	char *log;               /* captured output, at most log_cap bytes */
	size_t log_len, log_cap;
	size_t dropped;          /* output bytes beyond the cap */
};

struct landlock_rule;

/* Builds the domain every program of this provider enters before execve:
 * file access beneath rules only (in the provider's sandbox, before its
 * seal: the ruleset is kept open, and the child only calls
 * landlock_restrict_self, which can only narrow). weaken_none: no domain,
 * for the audit's test-only `--audit-weaken exec-landlock:ROLE` alone.
 * Must run once before exec_start, which refuses (EPERM) otherwise.
 * Returns 0, or -1 with err set. */
int exec_domain_prepare(const struct landlock_rule *rules, size_t n, bool weaken_none, char *err, size_t errlen);

/* The child's side, between fork and execve (async-signal-safe): enters
 * that domain. Returns 0, or -1 with errno set (EPERM: never prepared). */
int exec_domain_enter(void);

/* Starts argv[0] (absolute) with envp, stdin = body, stdout+stderr captured.
 * Returns 0, or -1 with errno set (nothing left running; EMSGSIZE: the body
 * does not fit a pipe; EPERM: exec_domain_prepare never ran). */
int exec_start(struct exec_run *r, char *const argv[], char *const envp[], const uint8_t *body, size_t body_len,
	       uint32_t timeout_ms, size_t log_cap);

/* Reads what the program wrote so far (non-blocking). */
void exec_read_output(struct exec_run *r);

/* Kills the program if its deadline passed; returns true if it did. */
bool exec_enforce_deadline(struct exec_run *r, uint64_t now_ms);

/* Reaps it if it has exited (non-blocking): returns true and sets *status
 * (exit code, or EXEC_STATUS_SIGNALED + signal). */
bool exec_reap(struct exec_run *r, int *status);

/* Runs to completion or deadline; returns the status as exec_reap. */
int exec_wait(struct exec_run *r);

void exec_release(struct exec_run *r);

#endif
