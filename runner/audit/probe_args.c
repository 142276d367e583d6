/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on allowed calls with hostile arguments (probe_internal.h).
 * Raw syscalls, so the kernel sees exactly the arguments written here,
 * upper bits included. */
#include "probe_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#define SIOCOUTQ_CMD 0x5411 /* TIOCOUTQ: bytes the peer has not read */
#define KERNEL_SIGSET_SIZE 8UL

/* shutdown(arg, arg2): arg is a full 64-bit register, so a probe can set
 * upper bits the kernel drops when it reads the int fd. */
int act_shutdown(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_shutdown, d->arg, d->arg2));
}

/* The outside review's escape: shut the listener's read side (it becomes a
 * closed TCP socket in the host's netns), then let sendto(MSG_FASTOPEN)
 * connect it to a service on the host (the audit's own loopback listener).
 * 0 = a SYN left: the role reached the host network. */
int act_listener_reconnect(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->host_port);
	if (syscall(SYS_shutdown, (long)INTERMEDIARY_FD_LISTEN, (long)SHUT_RD) < 0)
		return errno;
	long n = syscall(SYS_sendto, (long)INTERMEDIARY_FD_LISTEN, "GET / HTTP/1.0\r\n\r\n", 18UL,
			 (long)(MSG_FASTOPEN | MSG_NOSIGNAL), &sa, (long)sizeof(sa));
	return n >= 0 || errno == EINPROGRESS ? 0 : errno;
}

int act_sendto_fastopen(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->host_port);
	return errno_or_zero(syscall(SYS_sendto, d->arg, "x", 1UL, (long)(MSG_FASTOPEN | MSG_NOSIGNAL | MSG_DONTWAIT),
				     &sa, (long)sizeof(sa)));
}

int act_sendto_addr(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->host_port);
	return errno_or_zero(
		syscall(SYS_sendto, d->arg, "x", 1UL, (long)(MSG_NOSIGNAL | MSG_DONTWAIT), &sa, (long)sizeof(sa)));
}

int act_sendmsg_fastopen(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->host_port);
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
	return errno_or_zero(syscall(SYS_sendmsg, d->arg, &m, (long)(MSG_FASTOPEN | MSG_NOSIGNAL | MSG_DONTWAIT)));
}

int act_sendmmsg_fastopen(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->host_port);
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct mmsghdr mm = { .msg_hdr = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
					   .msg_iovlen = 1 } };
	return errno_or_zero(syscall(SYS_sendmmsg, d->arg, &mm, 1UL, (long)(MSG_FASTOPEN | MSG_NOSIGNAL | MSG_DONTWAIT)));
}

/* recvmmsg(arg, [{64-byte buffer, 64-byte control buffer}], 1, arg2, NULL):
 * a provider's artifact call on another fd or with other flags, asking for
 * control data as a taker of passed fds would. Its flags always hold
 * MSG_DONTWAIT, so with the filter gone it returns at once. */
int act_recvmmsg(const struct probe_def *d, const struct probe_env *e)
{
	char buf[64], control[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
					   .msg_controllen = sizeof(control) } };
	long n = syscall(SYS_recvmmsg, d->arg, &mm, 1UL, d->arg2 | MSG_DONTWAIT, NULL);
	return n < 0 ? errno : n > 0 ? PROBE_EXIT_DATA : 0;
}

int act_setsockopt_reuseport(const struct probe_def *d, const struct probe_env *e)
{
	int one = 1;
	return errno_or_zero(syscall(SYS_setsockopt, d->arg, (long)SOL_SOCKET, (long)SO_REUSEPORT, &one,
				     (long)sizeof(one)));
}

int act_setsockopt_fastopen_connect(const struct probe_def *d, const struct probe_env *e)
{
	int one = 1;
	return errno_or_zero(syscall(SYS_setsockopt, d->arg, (long)IPPROTO_TCP, (long)TCP_FASTOPEN_CONNECT, &one,
				     (long)sizeof(one)));
}

/* SO_MEMINFO on a channel end: the bytes its reader has not yet taken, which
 * tell a slow (initiating) provider from a fast one. */
int act_getsockopt_meminfo(const struct probe_def *d, const struct probe_env *e)
{
	uint32_t mem[9] = { 0 };
	socklen_t len = sizeof(mem);
	return errno_or_zero(syscall(SYS_getsockopt, d->arg, (long)SOL_SOCKET, (long)SO_MEMINFO, mem, &len));
}

int act_ioctl_outq(const struct probe_def *d, const struct probe_env *e)
{
	int queued = 0;
	return errno_or_zero(syscall(SYS_ioctl, d->arg, (long)SIOCOUTQ_CMD, &queued));
}

static void swallow(int sig)
{
	(void)sig;
}

/* Installs a handler for signal number arg (SIGSYS, or SIGSYS with upper
 * bits set): a role that could would survive its denied calls. */
int act_catch_sigsys(const struct probe_def *d, const struct probe_env *e)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} act = { .handler = swallow };
	return errno_or_zero(syscall(SYS_rt_sigaction, d->arg, &act, NULL, KERNEL_SIGSET_SIZE));
}

/* Blocks SIGSYS, then makes a call no policy allows (ptrace): the kernel
 * must still end the process by SIGSYS (it unblocks a forced signal and
 * resets it to its default action). 0 = it went on. */
int act_denied_with_sigsys_blocked(const struct probe_def *d, const struct probe_env *e)
{
	uint64_t set = 1ULL << (SIGSYS - 1);
	if (syscall(SYS_rt_sigprocmask, (long)SIG_BLOCK, &set, NULL, KERNEL_SIGSET_SIZE) < 0)
		return errno;
	syscall(SYS_ptrace, 0x4206L /* PTRACE_SEIZE */, 1L, 0L, 0L);
	return 0;
}

int act_lseek_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_lseek, (long)ASSOCIATION_FD_LEDGER, 0L, (long)SEEK_SET));
}

/* A shared writable mapping of the ledger (ASSOCIATION_FD_LEDGER, opened O_RDWR|O_APPEND):
 * stores into it would rewrite records in place, past O_APPEND. */
int act_mmap_ledger_shared(const struct probe_def *d, const struct probe_env *e)
{
	long m = syscall(SYS_mmap, 0L, 4096L, (long)(PROT_READ | PROT_WRITE), (long)MAP_SHARED,
			 (long)ASSOCIATION_FD_LEDGER, 0L);
	if (m == -1)
		return errno;
	syscall(SYS_munmap, m, 4096L);
	return 0;
}

/* The outside review's W^X escape in a provider that runs programs: a
 * shared read+exec anonymous mapping, aliased by mremap(old_size 0), made
 * writable at the first address; bytes written there run at the second.
 * 0 = the written code ran. */
int act_shared_exec_alias(const struct probe_def *d, const struct probe_env *e)
{
	static const unsigned char ret42[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }; /* mov eax, 42; ret */
	long a = syscall(SYS_mmap, 0L, 4096L, (long)(PROT_READ | PROT_EXEC), (long)(MAP_SHARED | MAP_ANONYMOUS), -1L,
			 0L);
	if (a == -1)
		return errno;
	long b = syscall(SYS_mremap, a, 0L, 4096L, (long)MREMAP_MAYMOVE);
	if (b == -1)
		return errno;
	if (syscall(SYS_mprotect, a, 4096L, (long)(PROT_READ | PROT_WRITE)) < 0)
		return errno;
	memcpy((void *)a, ret42, sizeof(ret42));
	return ((int (*)(void))b)() == 42 ? 0 : PROBE_EXIT_DATA;
}
