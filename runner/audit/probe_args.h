/* Probe actions that use a call the role's policy allows, with the
 * arguments that would break a claim: the listener turned into a client,
 * a channel's backlog read, a SIGSYS handler installed. See probe.h. */
#ifndef MPBS_PROBE_ARGS_H
#define MPBS_PROBE_ARGS_H

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>

#include "probe.h"

/* A probe's result: 0, or the errno the raw call left. */
static inline int errno_or_zero(long rc)
{
	return rc < 0 ? errno : 0;
}

/* 127.0.0.1:port, where a probe aims at the listener or the audit's host
 * service. */
static inline struct sockaddr_in loopback(int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

int act_shutdown(const struct probe_def *d, const struct probe_env *e);
int act_listener_reconnect(const struct probe_def *d, const struct probe_env *e);
int act_sendto_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_sendto_addr(const struct probe_def *d, const struct probe_env *e);
int act_sendmsg_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_sendmmsg_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_setsockopt_reuseport(const struct probe_def *d, const struct probe_env *e);
int act_setsockopt_fastopen_connect(const struct probe_def *d, const struct probe_env *e);
int act_getsockopt_meminfo(const struct probe_def *d, const struct probe_env *e);
int act_ioctl_outq(const struct probe_def *d, const struct probe_env *e);
int act_catch_sigsys(const struct probe_def *d, const struct probe_env *e);
int act_denied_with_sigsys_blocked(const struct probe_def *d, const struct probe_env *e);
int act_lseek_ledger(const struct probe_def *d, const struct probe_env *e);
int act_mmap_ledger_shared(const struct probe_def *d, const struct probe_env *e);
int act_shared_exec_alias(const struct probe_def *d, const struct probe_env *e);

#endif
