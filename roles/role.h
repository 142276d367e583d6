/* What every role process shares: its status channel to the supervisor and
 * the signalfd through which it learns it must stop. */
#ifndef MPBS_ROLE_H
#define MPBS_ROLE_H

#include <stdbool.h>
#include <stddef.h>

#define ROLE_STATUS_READY 'R'

/* The last sandbox step (seccomp), handed to the role by the supervisor's
 * spawn code: a role opens what it must (its policy, its key, its epoll
 * set), then seals itself just before its main loop, so the filter need not
 * allow the calls of start-up. */
struct role_seal {
	int (*fn)(void *ctx, char *err, size_t errlen);
	void *ctx;
};

/* Seals the role and reports it ready. Returns 0, or -1 (logged): the
 * role must then exit without serving. */
int role_seal_and_report(const struct role_seal *seal, int status_fd);

/* Blocks SIGTERM, SIGINT, SIGUSR1, SIGHUP and SIGPIPE and returns a
 * signalfd for the first three (the supervisor stops roles with SIGTERM and
 * asks providers for a new epoch with SIGUSR1), or -1 (logged). */
int role_stop_signalfd(void);

/* Reads one pending signal from the signalfd: its number, or 0. */
int role_read_signal(int sfd);

/* Reads one pending signal from the signalfd; true if it asked to stop. */
bool role_stop_requested(int sfd);

/* Tells the supervisor the role reached its main loop. */
void role_report_ready(int status_fd);

#endif
