/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Runs every probe of probe.c's table in a fresh sandbox of each role it
 * concerns (the role's own spec, only its entry replaced) and makes its
 * row; a probe that calls for it is followed by the host's own check
 * (audit_after_probe.c). */
#include "audit_internal.h"

#include "../../lib/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../channels.h"

/* Waits up to 10 s for the probe's PROBE_STATUS_HOLDING record; returns
 * the value it reports, or -1 (the probe exited or never got there). */
static long wait_holding(int status_rd, int pidfd)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd[2] = { { .fd = status_rd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		unsigned char rec[5];
		if (poll(pfd, 2, 10) < 0)
			return -1;
		if (pfd[0].revents & POLLIN)
			return read(status_rd, rec, sizeof(rec)) == (ssize_t)sizeof(rec) && rec[0] == PROBE_STATUS_HOLDING
				       ? (long)((uint32_t)rec[1] | (uint32_t)rec[2] << 8 | (uint32_t)rec[3] << 16 |
						(uint32_t)rec[4] << 24)
				       : -1;
		if (pfd[1].revents & POLLIN)
			return -1;
	}
	return -1;
}

/* Runs one probe in a fresh sandbox of role k and fills row (and host,
 * for a probe that pauses for the host). */
static int run_probe(struct audit *a, size_t k, const struct probe_def *d, struct audit_row *row,
		     struct audit_row *host, char *err, size_t errlen)
{
	struct role_plan *r = &a->plan.roles[k];
	struct probe_call call = { .def = d, .env = &a->env[k] };
	struct probe_def expect = *d;
	struct role_spec spec = r->spec;
	struct role_proc rp;
	siginfo_t si = { 0 };

	spec.entry = probe_main;
	spec.arg = &call;
	audit_drain_pipe(r->status_rd);
	if (spawn_role(&spec, &rp, err, errlen) < 0)
		return -1;
	if (d->pause_for_host) {
		long value = wait_holding(r->status_rd, rp.pidfd);
		snprintf(host->got, sizeof(host->got), "the probe never held");
		if (value >= 0)
			audit_check_while_holding(a, k, value, host);
	}
	if (waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED) < 0) {
		snprintf(err, errlen, "waitid %s: %s", r->label, strerror(errno));
		close(rp.pidfd);
		return -1;
	}
	close(rp.pidfd);
	audit_forward_logs(a);
	audit_restore_listener(&a->plan);
	/* Without SO_PASSRIGHTS (before Linux 6.16) the fd is sent, and it is
	 * the receiver that must discard it (the host row that follows). */
	if (expect.mechanism == MECH_PASSRIGHTS && !channel_kernel_refuses_fds()) {
		expect.expect_code = 0;
		expect.mechanism = MECH_KERNEL_SCM;
	}
	*row = (struct audit_row){ .id = d->id, .action = d->action, .role = k, .mech = expect.mechanism,
				   .claims = d->claims };
	audit_describe_expected(expect.expect_sigsys, expect.expect_code, row->expected, sizeof(row->expected));
	if (audit_setup_failed(&si, r->status_rd)) {
		snprintf(err, errlen, "%s: the sandbox for probe %s could not be built", r->label, d->id);
		return -1;
	}
	audit_describe_end(&a->seclog, rp.pid, &si, row->got, sizeof(row->got));
	row->ok = d->expect_sigsys ? seccomp_log_killed(&si)
				   : (si.si_code == CLD_EXITED && si.si_status == expect.expect_code);
	return 0;
}

int audit_run_probes(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		for (size_t i = 0; i < probe_count; i++) {
			const struct probe_def *d = &probe_table[i];
			if (!(d->roles & audit_probe_role(&a->plan.roles[k])) || (d->needs_state && !a->env[k].has_state))
				continue;
			struct audit_row *row = audit_new_row(a), host;
			if (!row) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			audit_host_describe(&host, HOST_FORK_BOMB_CONTAINED, k);
			if (run_probe(a, k, d, row, &host, err, errlen) < 0)
				return -1;
			if (d->act_keyed && plan_first_role(&a->plan, ROLE_ASSOCIATION) == a->plan.n_roles) {
				/* the frames would reach the association over a lane */
				log_info("audit: %s of %s: N/A in host part %s, which has no association: "
					 "its part checks the frames of this provider it receives", host_checks[HOST_FORGED_REJECTED].id,
					 a->plan.roles[k].label, a->plan.t->this_host);
				continue;
			} else if (d->act_keyed) {
				audit_host_describe(&host, HOST_FORGED_REJECTED, k);
				audit_check_association_rejects(a, k, &host);
			} else if (d->passes_fd) {
				audit_host_describe(&host, HOST_SCM_NOT_RECEIVED, k);
				audit_check_scm_receive(a, &host);
			} else if (!d->pause_for_host) {
				continue;
			}
			row = audit_new_row(a);
			if (!row) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*row = host;
		}
	return 0;
}
