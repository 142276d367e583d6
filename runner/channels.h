/* SPDX-License-Identifier: Apache-2.0 */
/* The only paths between roles: socketpairs made by the supervisor, each
 * one-way at the kernel (docs/ARCHITECTURE.md §2), and the HTTP listener. */
#ifndef MPBS_CHANNELS_H
#define MPBS_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A one-way SOCK_SEQPACKET pair: writer's SHUT_RD, reader's SHUT_WR, so the
 * reader cannot send one byte back. The supervisor keeps both ends for the
 * life of the run: a restarted role gets the same channel, and a reader that
 * exits never turns into an EPIPE at the writer. */
struct channel {
	int writer;
	int reader;
};

/* sndbuf: bytes the writer may have in flight (set with SO_SNDBUFFORCE as
 * root, so it is not capped by net.core.wmem_max). */
int channel_open(struct channel *c, int sndbuf, char *err, size_t errlen);
void channel_close(struct channel *c);

/* Whether this kernel has SO_PASSRIGHTS (Linux 6.16+), which channel_open
 * turns off on every reader end so that an fd sent with SCM_RIGHTS on a
 * channel is refused at the sender (EPERM) and never reaches another role. */
bool channel_kernel_refuses_fds(void);

/* Turns SO_PASSRIGHTS off on fd, a receiving end that takes no fd (the
 * supervisor's end of the segments socket, runner/segments.c). Returns
 * setsockopt's result (ENOPROTOOPT before Linux 6.16). */
int channel_refuse_fds(int fd);

/* Test-only weakening for the audit (--audit-weaken scm:ROLE): the reader
 * end accepts passed fds again. Returns setsockopt's result. */
int channel_allow_passed_fds(struct channel *c);

/* Binds and listens on addr (non-blocking, close-on-exec, SO_REUSEADDR).
 * Returns the fd, or -1 with err "listen 127.0.0.1:8080: Address already in use". */
int listener_open(const struct sockaddr_storage *addr, socklen_t len, const char *label, char *err, size_t errlen);

/* The audit's hygiene between two probes: a probe that broke the listener
 * (a policy under test let it shut the read side) must not change what the
 * next one meets. Listens again on the same bound socket if it no longer
 * listens. Returns 0 (it listened), 1 (restored) or -1 with errno. */
int listener_restore(int fd);

#endif
