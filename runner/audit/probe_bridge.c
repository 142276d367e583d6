/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions of a host part's bridge (docs/MULTIHOST.md): the one role
 * in the host's network namespace must reach nothing but the NATS
 * servers' ports, over TCP, and its channel ends stay one-way. Raw
 * syscalls, as every probe (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../plan_bridge.h"

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

/* A TCP connect to port on the host's loopback. */
static int connect_port(int port)
{
	struct sockaddr_in sa = loopback(port);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int rc = errno_or_zero(syscall(SYS_connect, fd, &sa, sizeof(sa)));
	syscall(SYS_close, fd);
	return rc;
}

/* The audit's own listener on the host's loopback: not a NATS port. */
int act_bridge_connect_other(const struct probe_def *d, const struct probe_env *e)
{
	return connect_port(e->host_port);
}

/* Control: the first NATS server's port is allowed. Nothing need listen
 * there during an audit: refused by the host (ECONNREFUSED) is the same
 * proof that no layer of the sandbox stopped the connect. */
int act_bridge_connect_nats(const struct probe_def *d, const struct probe_env *e)
{
	int rc = e->nats_port > 0 ? connect_port(e->nats_port) : EINVAL;
	return rc == ECONNREFUSED ? 0 : rc;
}

int act_bridge_socket_type(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_socket, (int)d->arg, (int)d->arg2 | SOCK_CLOEXEC, 0));
}

int act_bridge_bind(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(0);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_bind, fd, &sa, sizeof(sa)));
}

/* Turning SO_PASSRIGHTS back on at a reader end would let the writer on
 * the other side (the intermediary, a provider) pass it an fd. */
int act_bridge_passrights(const struct probe_def *d, const struct probe_env *e)
{
	int on = 1;
	return errno_or_zero(syscall(SYS_setsockopt, BRIDGE_FD_LANE(0), SOL_SOCKET, SO_PASSRIGHTS, &on, sizeof(on)));
}

/* Every lane's channel end is one-way: a writer end reads end of file at
 * once (shut for reading), a reader end cannot send (EPIPE). A reader end
 * is told by its read not ending at once (nothing queued: EAGAIN; or
 * data, left in place by MSG_PEEK). Returns 0, or the first errno that
 * says otherwise, or PROBE_EXIT_DATA for a send that went through. */
int act_bridge_lanes_one_way(const struct probe_def *d, const struct probe_env *e)
{
	int last = ROLE_FD_FIRST + (int)e->n_fds - 1;
	for (int fd = BRIDGE_FD_LANE(0); fd <= last; fd++) {
		char byte;
		long n = syscall(SYS_recvfrom, fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK, NULL, NULL);
		if (n == 0)
			continue; /* a writer end */
		if (n < 0 && errno != EAGAIN)
			return errno;
		long sent = syscall(SYS_sendto, fd, "x", 1UL, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
		if (sent >= 0)
			return PROBE_EXIT_DATA;
		if (errno != EPIPE)
			return errno;
	}
	return 0;
}
