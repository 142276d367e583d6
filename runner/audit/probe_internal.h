/* SPDX-License-Identifier: Apache-2.0 */
/* What the probe files share (runner/audit/probe*.c): the helpers every
 * action uses, and every action the table of probe.c names, listed by the
 * file that holds it. Each action returns 0, the errno its raw call left,
 * or PROBE_EXIT_DATA (probe.h). */
#ifndef MPBS_PROBE_INTERNAL_H
#define MPBS_PROBE_INTERNAL_H

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "../../roles/association/association.h"
#include "../../roles/intermediary/intermediary.h"
#include "../../roles/provider/provider.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

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

/* probe_bridge.c: a host part's bridge */
int act_bridge_connect_other(const struct probe_def *d, const struct probe_env *e);
int act_bridge_connect_nats(const struct probe_def *d, const struct probe_env *e);
int act_bridge_socket_type(const struct probe_def *d, const struct probe_env *e);
int act_bridge_bind(const struct probe_def *d, const struct probe_env *e);
int act_bridge_passrights(const struct probe_def *d, const struct probe_env *e);
int act_bridge_lanes_one_way(const struct probe_def *d, const struct probe_env *e);

/* probe_net.c: the network and the channels */
int act_socket(const struct probe_def *d, const struct probe_env *e);
int act_connect_tcp(const struct probe_def *d, const struct probe_env *e);
int act_connect_listener(const struct probe_def *d, const struct probe_env *e);
int act_connect_abstract(const struct probe_def *d, const struct probe_env *e);
int act_send(const struct probe_def *d, const struct probe_env *e);
int act_send_fd(const struct probe_def *d, const struct probe_env *e);
int act_recv(const struct probe_def *d, const struct probe_env *e);
int act_read_eof(const struct probe_def *d, const struct probe_env *e);

/* probe_files.c: files and programs. target_path resolves a row's path
 * ("@other_key", "@ledger", ... or a literal path; buf holds a built one). */
const char *target_path(const struct probe_def *d, const struct probe_env *e, char *buf, size_t len);
int act_open(const struct probe_def *d, const struct probe_env *e);
int act_execve(const struct probe_def *d, const struct probe_env *e);
int act_ftruncate_ledger(const struct probe_def *d, const struct probe_env *e);
int act_pwrite_ledger(const struct probe_def *d, const struct probe_env *e);
int act_clear_append_ledger(const struct probe_def *d, const struct probe_env *e);

/* probe_procs.c: other processes and its own children */
int act_kill(const struct probe_def *d, const struct probe_env *e);
int act_ptrace(const struct probe_def *d, const struct probe_env *e);
int act_process_vm_readv(const struct probe_def *d, const struct probe_env *e);
int act_pidfd_open(const struct probe_def *d, const struct probe_env *e);
int act_fork(const struct probe_def *d, const struct probe_env *e);
int act_fork_bomb(const struct probe_def *d, const struct probe_env *e);
int act_clone_newuser(const struct probe_def *d, const struct probe_env *e);

/* probe_kernel.c: namespaces, mounts, privileged kernel interfaces, IPC */
int act_unshare(const struct probe_def *d, const struct probe_env *e);
int act_clone3_newuser(const struct probe_def *d, const struct probe_env *e);
int act_setns(const struct probe_def *d, const struct probe_env *e);
int act_mount(const struct probe_def *d, const struct probe_env *e);
int act_pivot_root(const struct probe_def *d, const struct probe_env *e);
int act_fsopen(const struct probe_def *d, const struct probe_env *e);
int act_open_tree(const struct probe_def *d, const struct probe_env *e);
int act_bpf(const struct probe_def *d, const struct probe_env *e);
int act_perf_event_open(const struct probe_def *d, const struct probe_env *e);
int act_userfaultfd(const struct probe_def *d, const struct probe_env *e);
int act_io_uring_setup(const struct probe_def *d, const struct probe_env *e);
int act_keyctl(const struct probe_def *d, const struct probe_env *e);
int act_add_key(const struct probe_def *d, const struct probe_env *e);
int act_init_module(const struct probe_def *d, const struct probe_env *e);
int act_finit_module(const struct probe_def *d, const struct probe_env *e);
int act_kexec_load(const struct probe_def *d, const struct probe_env *e);
int act_reboot(const struct probe_def *d, const struct probe_env *e);
int act_swapon(const struct probe_def *d, const struct probe_env *e);
int act_clock_settime(const struct probe_def *d, const struct probe_env *e);
int act_sethostname(const struct probe_def *d, const struct probe_env *e);
int act_raise_rlimit(const struct probe_def *d, const struct probe_env *e);
int act_setuid0(const struct probe_def *d, const struct probe_env *e);
int act_tiocsti(const struct probe_def *d, const struct probe_env *e);
#if defined(__x86_64__)
int act_int80(const struct probe_def *d, const struct probe_env *e);
int act_x32(const struct probe_def *d, const struct probe_env *e);
#endif
int act_shmget(const struct probe_def *d, const struct probe_env *e);
int act_msgget(const struct probe_def *d, const struct probe_env *e);
int act_mq_open(const struct probe_def *d, const struct probe_env *e);

/* probe_code.c: code written at run time, the programs' Landlock domain */
int act_mmap_wx(const struct probe_def *d, const struct probe_env *e);
int act_mprotect_exec(const struct probe_def *d, const struct probe_env *e);
int act_memfd_exec(const struct probe_def *d, const struct probe_env *e);
int act_state_mmap_exec(const struct probe_def *d, const struct probe_env *e);
int act_map_libc(const struct probe_def *d, const struct probe_env *e);
int program_open(const struct probe_def *d, const struct probe_env *e);

/* probe_self.c: the process's own state */
int act_proc_view(const struct probe_def *d, const struct probe_env *e);
int act_rlimits(const struct probe_def *d, const struct probe_env *e);
int act_caps_empty(const struct probe_def *d, const struct probe_env *e);
int act_no_new_privs(const struct probe_def *d, const struct probe_env *e);
int act_fd_table(const struct probe_def *d, const struct probe_env *e);

/* probe_forge.c: forged signals on its own signal channel */
int act_forge_signals(const struct probe_def *d, const struct probe_env *e, const uint8_t sk[64]);

/* probe_args.c: calls the role's policy allows, with the arguments that
 * would break a claim: the listener turned into a client, a channel's
 * backlog read, a SIGSYS handler installed, the ledger rewritten in place,
 * an executable alias of written memory. */
int act_shutdown(const struct probe_def *d, const struct probe_env *e);
int act_listener_reconnect(const struct probe_def *d, const struct probe_env *e);
int act_sendto_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_sendto_addr(const struct probe_def *d, const struct probe_env *e);
int act_sendmsg_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_sendmmsg_fastopen(const struct probe_def *d, const struct probe_env *e);
int act_recvmmsg(const struct probe_def *d, const struct probe_env *e);
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
