/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What the host checks after (or while) a probe acts: the fork bomb held
 * while the host and the other sandboxes go on, the forged signals judged
 * by a real association, the fd sent on a channel never received. */
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/ledger2_walk.h"

/* While role k's probe holds its state (e.g. every process its uid may
 * have): the host still forks, every live sandbox is still alive, and a
 * fresh sandbox of another role (another host uid) still starts. */
void audit_check_while_holding(struct audit *a, size_t k, long value, struct audit_row *host)
{
	/* another role (another host uid): a provider other than k if this
	 * run has one, else any other role of this (host part's) run */
	size_t other = a->plan.n_roles;
	for (size_t j = 0; j < a->plan.n_roles; j++)
		if (j != k && (other == a->plan.n_roles ||
			       (a->plan.roles[j].kind == ROLE_PROVIDER && a->plan.roles[other].kind != ROLE_PROVIDER)))
			other = j;
	if (other == a->plan.n_roles) {
		snprintf(host->got, sizeof(host->got), "no other role in this run to start");
		return;
	}
	struct role_proc fresh = { .pidfd = -1 };
	char err[256];
	size_t alive = 0;
	int st = -1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	bool host_forks = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	for (size_t j = 0; j < a->plan.n_roles; j++) {
		struct pollfd pfd = { .fd = a->idle[j].pidfd, .events = POLLIN };
		alive += poll(&pfd, 1, 0) == 0;
	}
	bool other_starts = audit_start_one_idle(&a->plan.roles[other], &fresh, NULL, err, sizeof(err)) == 0 &&
			    audit_wait_idle(&fresh, a->plan.roles[other].label, err, sizeof(err)) == 0;
	audit_reap(&fresh);
	snprintf(host->got, sizeof(host->got), "%ld held; host fork %s; %zu/%zu live; %.20s %s", value,
		 host_forks ? "ok" : "FAILED", alive, a->plan.n_roles, a->plan.roles[other].label,
		 other_starts ? "starts" : "FAILED");
	host->ok = value > 0 && host_forks && alive == a->plan.n_roles && other_starts;
}

/* After the forging probe of provider k wrote on its signal channel (the
 * plan holds the reader, so the frames stay queued): the real association
 * of this run (the caller checks that it runs here, audit_probes.c),
 * alone, through its own spec and main, but appending to a temporary
 * ledger, reads them; SIGTERM makes it drain and fsync. */
void audit_check_association_rejects(struct audit *a, size_t k, struct audit_row *host)
{
	const char *name = a->env[k].self_name;
	char path[] = "/tmp/mpbs-audit-ledger-XXXXXX", err[256];
	struct role_plan *as = &a->plan.roles[plan_first_role(&a->plan, ROLE_ASSOCIATION)];
	int keep[PLAN_KEEP_MAX];
	struct role_proc rp = { .pidfd = -1 };
	siginfo_t si;
	/* O_APPEND, as the supervisor opens the real ledger */
	int fd = mkostemp(path, O_APPEND);
	snprintf(host->expected, sizeof(host->expected), "%d rejected (%s), 0 confirmed", PROBE_FORGED_FRAMES, name);
	snprintf(host->got, sizeof(host->got), "the association could not run");
	if (fd < 0)
		return;
	memcpy(keep, as->keep, sizeof(keep));
	keep[0] = fd;
	struct role_spec spec = as->spec;
	spec.keep_fds = keep;
	if (spawn_role(&spec, &rp, err, sizeof(err)) == 0) {
		for (int i = 0; i < 500 && l2_count_ledger(path, "rejected", name) < PROBE_FORGED_FRAMES; i++)
			usleep(10000);
		role_proc_signal(&rp, SIGTERM);
		waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED);
		close(rp.pidfd);
		size_t rejected = l2_count_ledger(path, "rejected", name), confirmed = l2_count_ledger(path, "confirmed", NULL);
		bool died = si.si_code != CLD_EXITED && si.si_status != SIGTERM; /* its own SIGTERM ends it too */
		snprintf(host->got, sizeof(host->got), "%zu rejected (%s), %zu confirmed%s%s", rejected, name, confirmed,
			 died ? "; the association died: " : "", died ? strsignal(si.si_status) : "");
		host->ok = rejected == PROBE_FORGED_FRAMES && confirmed == 0 && !died;
	}
	close(fd);
	unlink(path);
}

static long open_fds(void)
{
	long n = 0;
	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* After the intermediary sent a byte with an fd attached on provider 0's
 * artifact channel: receive it on the plan's reader end the way a provider
 * does (no control buffer). The kernel sets MSG_CTRUNC and closes the
 * in-flight fd (unix_detach_fds/scm_destroy): no fd is installed. */
void audit_check_scm_receive(struct audit *a, struct audit_row *host)
{
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long before = open_fds();
	ssize_t n = recvmsg(a->plan.artifact[0].reader, &m, MSG_DONTWAIT);
	bool nothing = n < 0 && errno == EAGAIN;
	long after = open_fds();
	snprintf(host->got, sizeof(host->got), "recvmsg %zd%s, MSG_CTRUNC %s, fds %ld -> %ld", n,
		 nothing ? " (EAGAIN)" : "", (m.msg_flags & MSG_CTRUNC) ? "set" : "clear", before, after);
	/* refused at the sender (SO_PASSRIGHTS), or discarded at the receiver */
	host->ok = after == before && (nothing || (n == 1 && (m.msg_flags & MSG_CTRUNC)));
}
