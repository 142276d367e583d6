/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on sockets: the network a role must not reach (its own
 * sockets, the listener turned client, another sandbox's abstract name),
 * and the one-way channels it holds (written the wrong way, read the wrong
 * way, an fd passed along). Raw syscalls, as every probe (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- network ---- */

int act_socket(const struct probe_def *d, const struct probe_env *e)
{
	int family = (int)d->arg;
	int type = family == AF_PACKET || family == AF_NETLINK ? SOCK_RAW : SOCK_STREAM;
	if (family == AF_UNIX)
		type = SOCK_SEQPACKET;
	return errno_or_zero(syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0));
}

int act_connect_tcp(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, sizeof(sa)));
}

/* connect on the listener the intermediary holds (INTERMEDIARY_FD_LISTEN). */
int act_connect_listener(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	return errno_or_zero(syscall(SYS_connect, INTERMEDIARY_FD_LISTEN, &sa, sizeof(sa)));
}

int act_connect_abstract(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, "\0mpbs-provider-B", 16);
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 16);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, len));
}

/* ---- channels ---- */

int act_send(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sendto, d->arg, "x", 1UL, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0));
}

/* One byte with fd 0 attached (SCM_RIGHTS): seccomp cannot read a
 * message's control data, so what stops the fd is the receiver's side. */
int act_send_fd(const struct probe_def *d, const struct probe_env *e)
{
	int passed = 0;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
					   .msg_controllen = sizeof(ctl.buf) } };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mm.msg_hdr);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passed, sizeof(int));
	/* sendmmsg: the call the intermediary writes its artifacts with */
	long n = syscall(SYS_sendmmsg, d->arg, &mm, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	return n < 0 ? errno : n == 1 ? 0 : PROBE_EXIT_DATA;
}

/* 0 = end of file at once: the peer can never send (a two-way channel
 * with nothing queued would say EAGAIN). */
int act_recv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[64];
	long n = syscall(SYS_recvfrom, d->arg, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	return n < 0 ? errno : n > 0 ? PROBE_EXIT_DATA : 0;
}

/* The same with read(2), for a role that reads with nothing else; read
 * has no MSG_DONTWAIT, so an fd with nothing to read (a two-way channel)
 * answers EAGAIN from poll instead of blocking the probe. */
int act_read_eof(const struct probe_def *d, const struct probe_env *e)
{
	char buf[64];
	struct pollfd p = { .fd = (int)d->arg, .events = POLLIN };
	if (poll(&p, 1, 0) < 0)
		return errno;
	if (!(p.revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
		return EAGAIN;
	long n = syscall(SYS_read, d->arg, buf, sizeof(buf));
	return n < 0 ? errno : n > 0 ? PROBE_EXIT_DATA : 0;
}
