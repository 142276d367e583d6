/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The audit's sandboxes: the live sealed sandbox of every role the
 * host-side checks inspect (and the report it sends of itself), and what
 * every sandbox the audit starts needs at its end (reaping, its status pipe
 * emptied and read). */
#include "audit_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../channels.h"

void audit_reap(struct role_proc *rp)
{
	siginfo_t si;
	if (rp->pidfd < 0)
		return;
	role_proc_signal(rp, SIGKILL);
	waitid((idtype_t)P_PIDFD, (id_t)rp->pidfd, &si, WEXITED);
	close(rp->pidfd);
	rp->pidfd = -1;
}

void audit_restore_listener(const struct run_plan *p)
{
	if (p->listen_fd >= 0 && listener_restore(p->listen_fd) < 0)
		log_errno("audit: the listener cannot listen again");
}

void audit_drain_pipe(int fd)
{
	char buf[256];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A failed setup step exits SPAWN_SETUP_FAILED (which is also
 * ECONNREFUSED) after an 'E' record: the record tells them apart. */
bool audit_setup_failed(const siginfo_t *si, int status_rd)
{
	char c;
	if (si->si_code != CLD_EXITED)
		return false;
	if (si->si_status == SPAWN_SETUP_FAILED)
		return read(status_rd, &c, 1) == 1 && c == STATUS_ERROR;
	return si->si_status == PROBE_EXIT_SEAL;
}

void audit_describe_end(struct seccomp_log *log, pid_t pid, const siginfo_t *si, char *buf, size_t len)
{
	int c = si->si_status;
	if (seccomp_log_killed(si))
		seccomp_log_describe(log, pid, buf, len);
	else if (si->si_code == CLD_EXITED)
		snprintf(buf, len, "%s", c == 0 ? "0" : c == PROBE_EXIT_DATA ? "data/found"
						: strerrorname_np(c) ? strerrorname_np(c) : "?");
	else
		snprintf(buf, len, "killed by signal %d", c);
}

void audit_describe_expected(bool sigsys, int code, char *buf, size_t len)
{
	if (sigsys)
		snprintf(buf, len, SECCOMP_LOG_KILL_TEXT);
	else if (code == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%s", strerrorname_np(code) ? strerrorname_np(code) : "?");
}

/* Whether the idle role sleeps sealed. /proc/PID/syscall says it is in its
 * nanosleep; a normal user (--rootless) may not read it of a non-dumpable
 * process, and then "Seccomp: 2" says it passed its seal, the last step
 * before that sleep. */
static bool idle_sealed(pid_t pid)
{
	char path[64], mode[16];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "r");
	long nr = -1;
	if (!f && errno == EACCES)
		return audit_status_value(pid, "Seccomp", mode, sizeof(mode)) && strcmp(mode, "2") == 0;
	if (f) {
		if (fscanf(f, "%ld", &nr) != 1)
			nr = -1;
		fclose(f);
	}
	return nr == SYS_nanosleep;
}

/* Waits until the idle role sleeps in its loop (sealed), up to 5 s. */
int audit_wait_idle(const struct role_proc *rp, const char *label, char *err, size_t errlen)
{
	for (int i = 0; i < 500; i++) {
		if (idle_sealed(rp->pid))
			return 0;
		struct pollfd pfd = { .fd = rp->pidfd, .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0) {
			snprintf(err, errlen, "%s: the live sandbox exited during setup", label);
			return -1;
		}
	}
	snprintf(err, errlen, "%s: the live sandbox did not reach its loop", label);
	return -1;
}

int audit_start_one_idle(const struct role_plan *r, struct role_proc *rp, const struct probe_idle_args *args,
			 char *err, size_t errlen)
{
	struct role_spec spec = r->spec;
	spec.entry = probe_idle_main;
	spec.arg = (void *)args;
	return spawn_role(&spec, rp, err, errlen);
}

/* The record the live sandbox wrote before its seal (so it is there once
 * the sandbox is sealed): false if there is none. */
static bool read_self_report(int status_rd, struct probe_self_report *rep)
{
	unsigned char rec[1 + sizeof(*rep)];
	struct pollfd p = { .fd = status_rd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1 || read(status_rd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
	    rec[0] != PROBE_STATUS_SELF)
		return false;
	memcpy(rep, rec + 1, sizeof(*rep));
	return true;
}

int audit_start_idle(struct audit *a, char *err, size_t errlen)
{
	struct exec_strings areas;
	if (spawn_exec_string_areas(&areas, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < a->plan.n_roles; k++) {
		const struct role_plan *r = &a->plan.roles[k];
		a->idle_args[k] = (struct probe_idle_args){ .status_fd = ROLE_FD_FIRST + (int)r->spec.status_index,
							    .env_start = areas.env_start,
							    .env_end = areas.env_end };
		audit_fd_gap(&a->plan, r, &a->idle_args[k].fd_gap_from, &a->idle_args[k].fd_gap_to);
		audit_drain_pipe(r->status_rd);
		if (audit_start_one_idle(r, &a->idle[k], &a->idle_args[k], err, errlen) < 0)
			return -1;
		if (audit_wait_idle(&a->idle[k], r->label, err, errlen) < 0)
			return -1;
		a->has_self[k] = read_self_report(r->status_rd, &a->self[k]);
	}
	return 0;
}
