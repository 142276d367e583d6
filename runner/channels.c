/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "channels.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Linux 6.16 and later: a receiver with SO_PASSRIGHTS off makes the kernel
 * refuse any SCM_RIGHTS sent to it (the sender's sendmsg fails EPERM). */
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

static int set_passrights(int fd, int on)
{
	return setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &on, sizeof(on));
}

bool channel_kernel_refuses_fds(void)
{
	static int known = -1;
	if (known < 0) {
		int sv[2];
		known = 0;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
			known = set_passrights(sv[1], 0) == 0;
			close(sv[0]);
			close(sv[1]);
		}
	}
	return known == 1;
}

int channel_refuse_fds(int fd)
{
	return set_passrights(fd, 0);
}

int channel_allow_passed_fds(struct channel *c)
{
	return set_passrights(c->reader, 1);
}

int channel_open(struct channel *c, int sndbuf, char *err, size_t errlen)
{
	int sv[2];
	c->writer = c->reader = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	c->writer = sv[0];
	c->reader = sv[1];
	if (shutdown(c->writer, SHUT_RD) < 0 || shutdown(c->reader, SHUT_WR) < 0) {
		snprintf(err, errlen, "shutdown of a channel end: %s", strerror(errno));
		channel_close(c);
		return -1;
	}
	/* No fd travels between roles: the reader refuses SCM_RIGHTS at the
	 * kernel. Older kernels lack the option (the supervisor says so once at
	 * start); there the receivers' seccomp policies stand alone. */
	if (channel_refuse_fds(c->reader) < 0 && errno != ENOPROTOOPT) {
		snprintf(err, errlen, "SO_PASSRIGHTS off on a channel: %s", strerror(errno));
		channel_close(c);
		return -1;
	}
	if (setsockopt(c->writer, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0 &&
	    setsockopt(c->writer, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0) {
		snprintf(err, errlen, "SO_SNDBUF on a channel: %s", strerror(errno));
		channel_close(c);
		return -1;
	}
	return 0;
}

void channel_close(struct channel *c)
{
	if (c->writer >= 0)
		close(c->writer);
	if (c->reader >= 0)
		close(c->reader);
	c->writer = c->reader = -1;
}

int listener_open(const struct sockaddr_storage *addr, socklen_t len, const char *label, char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", label, strerror(errno));
		return -1;
	}
	/* TCP_NODELAY here: accepted connections inherit it, so the
	 * intermediary sends each answer at once without a socket option of
	 * its own (its policy allows none). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 4096) < 0) {
		/* a normal user's (--rootless) bind below the unprivileged port range */
		bool low_port = errno == EACCES && geteuid() != 0;
		snprintf(err, errlen, "listen %s: %s%s", label, strerror(errno),
			 low_port ? " (a port below net.ipv4.ip_unprivileged_port_start, 1024 by default, needs root: "
				    "pick a higher one)"
				  : "");
		close(fd);
		return -1;
	}
	return fd;
}

int listener_restore(int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -1;
	if (listening)
		return 0;
	/* shut (SHUT_RD) or disconnected: the port binding survives */
	return listen(fd, 4096) < 0 ? -1 : 1;
}
