#define _GNU_SOURCE
/* The audit's sandboxes: the live sealed sandbox of every role the
 * host-side checks inspect, and what every sandbox the audit starts needs
 * at its end (reaping, its status pipe emptied and read). */
#include "audit_internal.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

void audit_drain(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

bool audit_setup_failed(int status_fd)
{
	char c;
	return read(status_fd, &c, 1) == 1 && c == STATUS_ERROR;
}

/* Waits until the idle role sleeps in its loop (sealed), up to 5 s. */
int audit_wait_idle(const struct role_proc *rp, const char *label, char *err, size_t errlen)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)rp->pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		long nr = -1;
		if (f) {
			if (fscanf(f, "%ld", &nr) != 1)
				nr = -1;
			fclose(f);
		}
		if (nr == SYS_nanosleep)
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

int audit_start_one_idle(const struct role_plan *r, struct role_proc *rp, char *err, size_t errlen)
{
	struct role_spec spec = r->spec;
	spec.entry = probe_idle_main;
	spec.arg = NULL;
	return spawn_role(&spec, rp, err, errlen);
}

int audit_start_idle(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++) {
		if (audit_start_one_idle(&a->plan.roles[k], &a->idle[k], err, errlen) < 0)
			return -1;
		if (audit_wait_idle(&a->idle[k], a->plan.roles[k].label, err, errlen) < 0)
			return -1;
	}
	return 0;
}
