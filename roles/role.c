#define _GNU_SOURCE
#include "role.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

int role_stop_signalfd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		log_errno("sigprocmask");
		return -1;
	}
	sigdelset(&mask, SIGHUP);
	sigdelset(&mask, SIGPIPE);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		log_errno("signalfd");
	return fd;
}

int role_read_signal(int sfd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));
	return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

bool role_stop_requested(int sfd)
{
	int sig = role_read_signal(sfd);
	return sig == SIGTERM || sig == SIGINT;
}

void role_report_ready(int status_fd)
{
	char c = ROLE_STATUS_READY;
	ssize_t n;
	do
		n = write(status_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_errno("report ready");
}

int role_seal_and_report(const struct role_seal *seal, int status_fd)
{
	char err[512] = "";
	if (seal && seal->fn(seal->ctx, err, sizeof(err)) < 0) {
		log_error("seccomp: %s", err);
		return -1;
	}
	role_report_ready(status_fd);
	return 0;
}
