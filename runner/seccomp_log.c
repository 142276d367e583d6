/* SPDX-License-Identifier: Apache-2.0 */
/* Seccomp kills as the kernel's audit log reports them (seccomp_log.h). */
#define _GNU_SOURCE
#include "seccomp_log.h"
#include "seccomp.h"
#include "../lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

int seccomp_log_open(struct seccomp_log *l, char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };
	memset(l, 0, sizeof(*l));
	l->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "the kernel's audit log (NETLINK_AUDIT, read-log group): %s", strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return -1;
	}
	/* the kernel writes no record of a kill the admin took out of the list */
	char logged[256] = "";
	int fd = open("/proc/sys/kernel/seccomp/actions_logged", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, logged, sizeof(logged) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0 && !strstr(logged, "kill_process")) {
		snprintf(err, errlen, "kernel.seccomp.actions_logged lacks kill_process: the kernel records no kill");
		seccomp_log_close(l);
		return -1;
	}
	return 0;
}

void seccomp_log_close(struct seccomp_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* The value of " KEY=" (a field of the record, never inside a value: the
 * kernel hex-encodes comm and exe when they hold a space or a quote). */
static const char *field(const char *text, size_t len, const char *key)
{
	char pat[24];
	int n = snprintf(pat, sizeof(pat), " %s=", key);
	const char *at = memmem(text, len, pat, (size_t)n);
	return at ? at + n : NULL;
}

int seccomp_log_parse(const char *text, size_t len, struct seccomp_kill *out)
{
	/* a NUL-terminated copy for strtol (a dead stack frame at any fork:
	 * forkwipe_dead_stack) */
	char buf[1024];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	const char *pid = field(buf, len, "pid"), *uid = field(buf, len, "uid"), *nr = field(buf, len, "syscall"),
		   *arch = field(buf, len, "arch");
	if (!pid || !uid || !nr || !arch)
		return -1;
	char *end;
	errno = 0;
	long p = strtol(pid, &end, 10);
	if (errno || end == pid || p <= 0)
		return -1;
	unsigned long u = strtoul(uid, &end, 10);
	if (errno || end == uid)
		return -1;
	long s = strtol(nr, &end, 10);
	if (errno || end == nr)
		return -1;
	unsigned long a = strtoul(arch, &end, 16);
	if (errno || end == arch)
		return -1;
	*out = (struct seccomp_kill){ .pid = (pid_t)p, .uid = (uid_t)u, .nr = s,
#if defined(__x86_64__)
				      .native = a == AUDIT_ARCH_X86_64 && !(s & 0x40000000L),
#elif defined(__aarch64__)
				      .native = a == AUDIT_ARCH_AARCH64,
#else
				      .native = 0,
#endif
	};
	return 0;
}

static void keep(struct seccomp_log *l, const struct seccomp_kill *k)
{
	l->recent[l->next] = *k;
	l->next = (l->next + 1) % SECCOMP_LOG_RECENT;
}

void seccomp_log_drain_each(struct seccomp_log *l, void (*each)(const struct seccomp_kill *k, void *ctx), void *ctx)
{
	ssize_t n;
	while (l->fd >= 0 && (n = recv(l->fd, l->buf, sizeof(l->buf), MSG_DONTWAIT)) > 0) {
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)l->buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			struct seccomp_kill k;
			if (h->nlmsg_type == AUDIT_SECCOMP &&
			    seccomp_log_parse(NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN, &k) == 0) {
				keep(l, &k);
				if (each)
					each(&k, ctx);
			}
		}
	}
}

static int lookup(const struct seccomp_log *l, pid_t pid, struct seccomp_kill *out)
{
	for (size_t i = 0; i < SECCOMP_LOG_RECENT; i++)
		if (l->recent[i].pid == pid) {
			*out = l->recent[i];
			return 1;
		}
	return 0;
}

int seccomp_log_find(struct seccomp_log *l, pid_t pid, int wait_ms, struct seccomp_kill *out)
{
	return seccomp_log_find_each(l, pid, wait_ms, out, NULL, NULL);
}

int seccomp_log_find_each(struct seccomp_log *l, pid_t pid, int wait_ms, struct seccomp_kill *out,
			  void (*each)(const struct seccomp_kill *k, void *ctx), void *ctx)
{
	long long deadline = (long long)clock_mono_ms() + wait_ms;
	for (;;) {
		seccomp_log_drain_each(l, each, ctx);
		if (lookup(l, pid, out))
			return 1;
		long long left = deadline - (long long)clock_mono_ms();
		if (l->fd < 0 || left <= 0)
			return 0;
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return 0;
	}
}

bool seccomp_log_killed(const siginfo_t *si)
{
	return (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) && si->si_status == SIGSYS;
}

/* The kernel's audit thread sends the record; on a loaded machine it was
 * once seen to trail the child's end by more than 500 ms. The audit, which
 * nothing waits on, gives it longer than the supervisor's loop can. */
#define DESCRIBE_WAIT_MS 2000

void seccomp_log_describe(struct seccomp_log *l, pid_t pid, char *buf, size_t len)
{
	struct seccomp_kill kill;
	char name[48];
	if (!seccomp_log_find(l, pid, DESCRIBE_WAIT_MS, &kill))
		snprintf(buf, len, SECCOMP_LOG_KILL_TEXT " (no audit record)");
	else if (!kill.native)
		snprintf(buf, len, SECCOMP_LOG_KILL_TEXT " (another arch's %ld)", kill.nr);
	else
		snprintf(buf, len, SECCOMP_LOG_KILL_TEXT " (%s)", seccomp_syscall_name_r(kill.nr, name, sizeof(name)));
}
