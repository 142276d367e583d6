/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The probe table, and the entry a probe's sandbox runs. Each row names
 * the exact call, the roles it runs in, what must happen (SIGSYS, or the
 * errno of the layer beneath seccomp), that layer, and the claims of
 * docs/ARCHITECTURE.md §6 it tests. The actions are in probe_*.c (listed in
 * probe_internal.h). Every action uses the raw syscall, so the call the
 * kernel sees is exactly the one named in the table (no glibc wrapper adds
 * or substitutes calls). Actions that could do harm if a layer were
 * missing use arguments that stay harmless even then: the audit's
 * weakening switches really remove layers. */
#include "probe.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/keys.h"
#include "../../roles/provider/exec.h"
#include "probe_internal.h"
#include "probe_roles.h"

const char *probe_mechanism_name(enum probe_mechanism m)
{
	static const char *const names[MECH_COUNT] = {
		[MECH_SECCOMP] = "seccomp", [MECH_NETNS] = "netns", [MECH_PIDNS] = "pidns",
		[MECH_MNTNS] = "mntns", [MECH_LANDLOCK] = "landlock", [MECH_CHANNEL] = "one-way channel",
		[MECH_CAPS] = "capabilities", [MECH_NNP] = "no_new_privs", [MECH_USERNS] = "userns",
		[MECH_INODE_FLAG] = "append-only inode", [MECH_FDS] = "close_range",
		[MECH_NAMESPACES] = "namespaces", [MECH_RLIMIT] = "rlimit", [MECH_CHAIN] = "signature/chain check",
		[MECH_KERNEL_SCM] = "SCM_RIGHTS without cmsg buffer",
		[MECH_PASSRIGHTS] = "SO_PASSRIGHTS off",
		[MECH_SPAWN] = "spawn hygiene",
		[MECH_PROGRAM_LANDLOCK] = "program's landlock",
		[MECH_MEMFD_SEAL] = "memfd seal",
	};
	return m < MECH_COUNT ? names[m] : "?";
}

#define KERNEL CLAIM(8)
#define NET_OUT (CLAIM(3) | CLAIM(5) | CLAIM(7))
#define BRIDGE CLAIM(11)

/* Trapped by the role's seccomp policy. */
#define DENY(id_, roles_, action_, fn_, claims_, ...)                                                  \
	{ .id = id_, .roles = roles_, .action = action_, .expect_sigsys = true, .mechanism = MECH_SECCOMP, \
	  .claims = claims_, .act = fn_, __VA_ARGS__ }
/* Refused by a layer under seccomp, with an errno. */
#define REFUSE(id_, roles_, action_, fn_, code_, mech_, claims_, ...)                              \
	{ .id = id_, .roles = roles_, .action = action_, .expect_code = code_, .mechanism = mech_, \
	  .claims = claims_, .act = fn_, __VA_ARGS__ }

const struct probe_def probe_table[] = {
	/* the network */
	DENY("net.socket-inet", ALL, "socket(AF_INET, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_INET),
	DENY("net.socket-inet6", ALL, "socket(AF_INET6, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_INET6),
	DENY("net.socket-packet", ALL_BR, "socket(AF_PACKET, SOCK_RAW, 0)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_PACKET),
	DENY("net.socket-netlink", ALL_BR, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_NETLINK),
	DENY("net.socket-vsock", ALL_BR, "socket(AF_VSOCK, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_VSOCK),
	DENY("net.socket-unix", IM | AS | PVP, "socket(AF_UNIX, SOCK_SEQPACKET, 0)", act_socket,
	     CLAIM(3) | CLAIM(7), .arg = AF_UNIX),
	DENY("net.connect-listener-port", PV, "socket(AF_INET) + connect(127.0.0.1:<listen port>)", act_connect_tcp,
	     CLAIM(4) | CLAIM(5)),
	DENY("net.connect-on-listener", IM, "connect(3 = listener, 127.0.0.1:<listen port>)", act_connect_listener,
	     CLAIM(3)),
	DENY("net.connect-abstract", PVP, "socket(AF_UNIX) + connect(\"\\0mpbs-provider-B\")", act_connect_abstract,
	     CLAIM(4)),
	/* Allowed calls with the arguments that would break a claim: the
	 * listener turned client, a channel's backlog read, SIGSYS caught. The
	 * listener (INTERMEDIARY_FD_LISTEN, 3) is the only host-netns socket
	 * any role holds: nothing but accept4 and close may touch it. */
	DENY("net.listener-reconnect", IM,
	     "shutdown(3 = listener, SHUT_RD) then sendto(3, MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_listener_reconnect, NET_OUT),
	DENY("net.listener-shutdown-rdwr", IM, "shutdown(3 = listener, SHUT_RDWR)", act_shutdown, NET_OUT,
	     .arg = INTERMEDIARY_FD_LISTEN, .arg2 = SHUT_RDWR),
	DENY("net.listener-shutdown-upper-bits", IM, "shutdown(0x100000003 (fd 3 to the kernel), SHUT_RDWR)",
	     act_shutdown, NET_OUT, .arg = (1L << 32) | INTERMEDIARY_FD_LISTEN, .arg2 = SHUT_RDWR),
	DENY("net.listener-sendto-fastopen", IM, "sendto(3 = listener, \"x\", MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_sendto_fastopen, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("net.sendto-address", IM, "sendto(3 = listener, \"x\", 0, 127.0.0.1:<host service>)",
	     act_sendto_addr, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("net.listener-sendmsg-fastopen", IM, "sendmsg(3 = listener, {127.0.0.1:<host service>}, MSG_FASTOPEN)",
	     act_sendmsg_fastopen, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("net.listener-sendmmsg-fastopen", IM,
	     "sendmmsg(3 = listener, [{127.0.0.1:<host service>}], 1, MSG_FASTOPEN): the call it writes artifacts with",
	     act_sendmmsg_fastopen, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("net.sendmmsg-fastopen", PV, "sendmmsg(4 = signal writer end, {127.0.0.1:<host service>}, MSG_FASTOPEN)",
	     act_sendmmsg_fastopen, NET_OUT, .arg = PROVIDER_FD_SIGNAL),
	DENY("exec.sendto-fastopen", PVX, "sendto(4 = signal writer end, \"x\", MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_sendto_fastopen, NET_OUT, .arg = PROVIDER_FD_SIGNAL),
	DENY("net.listener-reuseport", IM, "setsockopt(3 = listener, SOL_SOCKET, SO_REUSEPORT, 1)",
	     act_setsockopt_reuseport, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("net.listener-fastopen-connect", IM, "setsockopt(3 = listener, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)",
	     act_setsockopt_fastopen_connect, NET_OUT, .arg = INTERMEDIARY_FD_LISTEN),
	DENY("chan.backlog-meminfo", IM, "getsockopt(4 = artifact writer end, SOL_SOCKET, SO_MEMINFO)",
	     act_getsockopt_meminfo, CLAIM(2), .arg = INTERMEDIARY_FD_ARTIFACT(0)),
	DENY("chan.backlog-getsockopt", AS | PV, "getsockopt(3, SOL_SOCKET, SO_MEMINFO)", act_getsockopt_meminfo,
	     CLAIM(2) | CLAIM(6), .arg = ROLE_FD_FIRST),
	DENY("chan.backlog-siocoutq", IM, "ioctl(4 = artifact writer end, SIOCOUTQ)", act_ioctl_outq, CLAIM(2),
	     .arg = INTERMEDIARY_FD_ARTIFACT(0)),
	DENY("seccomp.catch-sigsys", ALL_BR, "rt_sigaction(SIGSYS, {handler}) (to survive and probe the filter)",
	     act_catch_sigsys, KERNEL, .arg = SIGSYS),
	DENY("seccomp.catch-sigsys-upper-bits", ALL_BR, "rt_sigaction(0x10000001f (SIGSYS to the kernel), {handler})",
	     act_catch_sigsys, KERNEL, .arg = 0x100000000L | SIGSYS),
	DENY("seccomp.denied-with-sigsys-blocked", ALL_BR, "rt_sigprocmask(SIG_BLOCK, {SIGSYS}) then ptrace(): still dies",
	     act_denied_with_sigsys_blocked, KERNEL),
	/* provider-exec allows connect (programs try glibc's nscd socket):
	 * abstract names live in the network namespace, and B's is not in A's. */
	REFUSE("exec.connect-abstract", PVX, "socket(AF_UNIX) + connect(\"\\0mpbs-provider-B\")", act_connect_abstract,
	       ECONNREFUSED, MECH_NETNS, CLAIM(4)),
	/* a host part's bridge: the host's network, but TCP to the NATS ports alone */
	REFUSE("bridge.connect-other-port", BR, "socket(AF_INET, SOCK_STREAM) + connect(127.0.0.1:<host service>)",
	       act_bridge_connect_other, EACCES, MECH_LANDLOCK, BRIDGE),
	REFUSE("bridge.connect-other-port-unsealed", BR,
	       "socket(AF_INET, SOCK_STREAM) + connect(127.0.0.1:<host service>) before seccomp", act_bridge_connect_other,
	       EACCES, MECH_LANDLOCK, BRIDGE, .before_seal = true),
	/* execute on its program and its loader alone: a system program is
	 * refused even before the filter, which refuses every execve */
	REFUSE("bridge.execve-system-unsealed", BR, "execve(\"/usr/bin/true\") before seccomp", act_execve, EACCES,
	       MECH_LANDLOCK, BRIDGE, .before_seal = true, .path = "/usr/bin/true"),
	REFUSE("bridge.connect-nats-port", BR, "connect(127.0.0.1:<first NATS port>) (control: 0 or ECONNREFUSED)",
	       act_bridge_connect_nats, 0, MECH_LANDLOCK, BRIDGE),
	DENY("bridge.socket-udp", BR, "socket(AF_INET, SOCK_DGRAM, 0)", act_bridge_socket_type, BRIDGE,
	     .arg = AF_INET, .arg2 = SOCK_DGRAM),
	DENY("bridge.socket-unix", BR, "socket(AF_UNIX, SOCK_STREAM, 0) (the host's abstract sockets)",
	     act_bridge_socket_type, BRIDGE, .arg = AF_UNIX, .arg2 = SOCK_STREAM),
	DENY("bridge.socket-raw", BR, "socket(AF_INET, SOCK_RAW, 0)", act_bridge_socket_type, BRIDGE | KERNEL,
	     .arg = AF_INET, .arg2 = SOCK_RAW),
	REFUSE("bridge.open-other-key", BR,
	       "openat(AT_FDCWD, <host path of another provider's signal.key>, O_RDONLY) (the policy answers ENOENT)",
	       act_open, ENOENT, MECH_SECCOMP, BRIDGE, .path = "@other_key", .arg = O_RDONLY),
	REFUSE("bridge.open-dev-mem", BR, "openat(\"/dev/mem\", O_RDONLY) (the policy answers ENOENT)", act_open,
	       ENOENT, MECH_SECCOMP, BRIDGE | KERNEL, .path = "/dev/mem", .arg = O_RDONLY),
	DENY("bridge.bind", BR, "socket(AF_INET, SOCK_STREAM) + bind(127.0.0.1:0)", act_bridge_bind, BRIDGE),
	DENY("bridge.passrights-on", BR, "setsockopt(512 = first lane's channel end, SOL_SOCKET, SO_PASSRIGHTS, 1)",
	     act_bridge_passrights, BRIDGE),
	REFUSE("bridge.lanes-one-way", BR,
	       "every lane's channel end: a writer end reads EOF, a reader end's sendto fails EPIPE (before seccomp)",
	       act_bridge_lanes_one_way, 0, MECH_CHANNEL, BRIDGE, .before_seal = true),
	/* files and programs */
	DENY("fs.open-other-key", NOT_PVX, "openat(AT_FDCWD, <host path of another provider's signal.key>, O_RDONLY)",
	     act_open, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.open-other-key-unsealed", ALL_BR, "openat(<host path of another provider's signal.key>) before seccomp",
	       act_open, ENOENT, MECH_MNTNS, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .before_seal = true,
	       .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.keys-dotdot-escape", PV, "openat(\"/keys/../../..<host key path of B>\") before seccomp", act_open,
	       ENOENT, MECH_MNTNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@escape", .arg = O_RDONLY),
	DENY("fs.open-ledger", IM | PVP, "openat(<ledger>, O_RDWR)", act_open, CLAIM(1) | CLAIM(3) | CLAIM(4),
	     .path = "@ledger", .arg = O_RDWR),
	DENY("fs.open-topology-write", AS, "openat(<topology.conf>, O_WRONLY)", act_open, CLAIM(7),
	     .path = "@topology", .arg = O_WRONLY),
	DENY("fs.execve", NOT_PVX | BR, "execve(\"/bin/true\")", act_execve, CLAIM(3) | CLAIM(7) | KERNEL,
	     .path = "/bin/true"),
	REFUSE("fs.execve-unsealed", IM | AS, "execve(\"/bin/true\") before seccomp: empty root", act_execve, ENOENT,
	       MECH_MNTNS, CLAIM(3) | CLAIM(7), .before_seal = true, .path = "/bin/true"),
	DENY("dev.mem", NOT_PVX, "openat(\"/dev/mem\", O_RDONLY)", act_open, KERNEL, .path = "/dev/mem", .arg = O_RDONLY),
	REFUSE("dev.mem-unsealed", ALL_BR, "openat(\"/dev/mem\") before seccomp", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .before_seal = true, .path = "/dev/mem", .arg = O_RDONLY),
	DENY("dev.kmsg", NOT_PVX, "openat(\"/dev/kmsg\", O_WRONLY)", act_open, KERNEL, .path = "/dev/kmsg",
	     .arg = O_WRONLY),
	DENY("proc.core-pattern", NOT_PVX, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY)", act_open, KERNEL,
	     .path = "/proc/sys/kernel/core_pattern", .arg = O_WRONLY),
	/* a provider's /proc is subset=pid: it has no /proc/sys */
	REFUSE("proc.core-pattern-unsealed", PV, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY) before seccomp",
	       act_open, ENOENT, MECH_MNTNS, KERNEL, .before_seal = true, .path = "/proc/sys/kernel/core_pattern",
	       .arg = O_WRONLY),
	/* other processes */
	DENY("proc.kill-other-role", NOT_PVX | BR, "kill(<another role's host pid>, SIGKILL)", act_kill,
	     CLAIM(4) | CLAIM(7)),
	REFUSE("proc.kill-other-role-unsealed", ALL_BR, "kill(<another role's host pid>, SIGKILL) before seccomp",
	       act_kill, ESRCH, MECH_PIDNS, CLAIM(4) | CLAIM(7), .before_seal = true),
	DENY("proc.ptrace", ALL_BR, "ptrace(PTRACE_ATTACH, <another role's host pid>)", act_ptrace, CLAIM(4) | KERNEL),
	REFUSE("proc.ptrace-unsealed", ALL_BR, "ptrace(PTRACE_ATTACH, <another role's host pid>) before seccomp",
	       act_ptrace, ESRCH, MECH_PIDNS, CLAIM(4) | KERNEL, .before_seal = true),
	DENY("proc.process-vm-readv", ALL_BR, "process_vm_readv(<another role's host pid>, 16 bytes)",
	     act_process_vm_readv, CLAIM(4) | CLAIM(6)),
	DENY("proc.pidfd-open", ALL_BR, "pidfd_open(<another role's host pid>, 0) (then pidfd_getfd)", act_pidfd_open,
	     CLAIM(4) | CLAIM(6)),
	REFUSE("proc.other-mem-unsealed", PV, "openat(\"/proc/<another role's host pid>/mem\") before seccomp",
	       act_open, ENOENT, MECH_PIDNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@victim_mem",
	       .arg = O_RDONLY),
	DENY("proc.fork", NOT_PVX | BR, "clone(SIGCHLD) (fork bomb)", act_fork, CLAIM(4) | KERNEL),
	/* namespaces and mounts */
	DENY("ns.unshare-user", ALL_BR, "unshare(CLONE_NEWUSER)", act_unshare, KERNEL, .arg = CLONE_NEWUSER),
	DENY("ns.unshare-net", ALL_BR, "unshare(CLONE_NEWNET)", act_unshare, KERNEL, .arg = CLONE_NEWNET),
	DENY("ns.clone3-newuser", NOT_PVX, "clone3({.flags = CLONE_NEWUSER})", act_clone3_newuser, KERNEL),
	DENY("ns.setns", ALL_BR, "setns(3, CLONE_NEWNET)", act_setns, KERNEL),
	DENY("mnt.mount", ALL_BR, "mount(\"none\", \"/\", \"tmpfs\", 0, \"size=1m\")", act_mount, KERNEL),
	DENY("mnt.pivot-root", ALL_BR, "pivot_root(\".\", \".\")", act_pivot_root, KERNEL),
	DENY("mnt.fsopen", ALL_BR, "fsopen(\"tmpfs\", FSOPEN_CLOEXEC)", act_fsopen, KERNEL),
	DENY("mnt.open-tree", ALL_BR, "open_tree(AT_FDCWD, \"/\", OPEN_TREE_CLONE)", act_open_tree, KERNEL),
	/* kernel interfaces */
	DENY("kern.io-uring-setup", ALL_BR, "io_uring_setup(8, {0})", act_io_uring_setup, KERNEL),
	DENY("kern.bpf", ALL_BR, "bpf(BPF_MAP_CREATE, {ARRAY, 4, 8, 1})", act_bpf, KERNEL),
	DENY("kern.perf-event-open", ALL_BR, "perf_event_open({SOFTWARE, CPU_CLOCK}, 0, -1, -1, 0)",
	     act_perf_event_open, KERNEL),
	DENY("kern.userfaultfd", ALL_BR, "userfaultfd(O_CLOEXEC|O_NONBLOCK)", act_userfaultfd, KERNEL),
	DENY("kern.keyctl", ALL_BR, "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING)", act_keyctl, KERNEL),
	DENY("kern.add-key", ALL_BR, "add_key(\"user\", \"mpbs-audit\", \"x\", 1, KEY_SPEC_PROCESS_KEYRING)",
	     act_add_key, KERNEL),
	DENY("kern.init-module", ALL_BR, "init_module(<16 zero bytes>, 16, \"\")", act_init_module, KERNEL),
	DENY("kern.finit-module", ALL_BR, "finit_module(0, \"\", 0)", act_finit_module, KERNEL),
	DENY("kern.kexec-load", ALL_BR, "kexec_load(0, 0, NULL, 0)", act_kexec_load, KERNEL),
	DENY("kern.reboot", ALL_BR, "reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_CAD_ON)", act_reboot, KERNEL),
	DENY("kern.swapon", ALL_BR, "swapon(\"/mpbs-audit-swap\", 0)", act_swapon, KERNEL),
	DENY("kern.clock-settime", ALL_BR, "clock_settime(CLOCK_REALTIME, <now>)", act_clock_settime, KERNEL),
	DENY("kern.sethostname", ALL_BR, "sethostname(\"mpbs-audit\")", act_sethostname, KERNEL),
	DENY("priv.raise-rlimit", ALL_BR, "prlimit64(0, RLIMIT_NOFILE, {INFINITY, INFINITY}, NULL)", act_raise_rlimit,
	     KERNEL),
	DENY("priv.setuid0", ALL_BR, "setuid(0)", act_setuid0, KERNEL),
	DENY("tty.tiocsti", ALL_BR, "ioctl(0, TIOCSTI, \"x\")", act_tiocsti, KERNEL),
#if defined(__x86_64__)
	DENY("abi.int80", ALL_BR, "int $0x80 with eax = 20 (i386 getpid)", act_int80, KERNEL),
	DENY("abi.x32", ALL_BR, "syscall(__X32_SYSCALL_BIT | SYS_getpid)", act_x32, KERNEL),
#endif
	DENY("mem.mmap-wx", ALL_BR, "mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS)",
	     act_mmap_wx, CLAIM(3) | KERNEL),
	DENY("mem.shared-exec-alias", ALL_BR,
	     "mmap(RX, MAP_SHARED|MAP_ANONYMOUS), mremap(it, 0, 4096, MAYMOVE) alias, mprotect(RW), write, call the alias",
	     act_shared_exec_alias, CLAIM(3) | KERNEL),
	DENY("mem.mprotect-exec", ALL_BR, "mprotect(<rw page>, 4096, PROT_READ|PROT_EXEC)", act_mprotect_exec,
	     CLAIM(3) | KERNEL),
	/* IPC */
	DENY("ipc.shmget", ALL_BR, "shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600)", act_shmget, CLAIM(4)),
	DENY("ipc.msgget", ALL_BR, "msgget(IPC_PRIVATE, IPC_CREAT|0600)", act_msgget, CLAIM(4)),
	DENY("ipc.mq-open", ALL_BR, "mq_open(\"mpbs-audit\", O_RDWR|O_CREAT, 0600, NULL)", act_mq_open, CLAIM(4)),
	/* channels */
	/* A sealed provider has no sendto at all (its frames go out by
	 * sendmmsg); under it, and for a provider that runs programs, the
	 * channel itself refuses. */
	DENY("chan.provider-writes-artifact", PVP, "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL)", act_send,
	     CLAIM(2), .arg = PROVIDER_FD_ARTIFACT),
	REFUSE("chan.provider-writes-artifact-unsealed", PV,
	       "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL) before seccomp", act_send, EPIPE, MECH_CHANNEL,
	       CLAIM(2), .arg = PROVIDER_FD_ARTIFACT, .before_seal = true),
	REFUSE("exec.provider-writes-artifact", PVX, "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL)", act_send,
	       EPIPE, MECH_CHANNEL, CLAIM(2), .arg = PROVIDER_FD_ARTIFACT),
	REFUSE("chan.provider-reads-signal", PV, "recvfrom(4 = signal writer end, MSG_DONTWAIT) = 0 (EOF)", act_recv,
	       0, MECH_CHANNEL, CLAIM(6), .arg = PROVIDER_FD_SIGNAL),
	/* A provider reads its artifacts with recvmmsg: on its artifact
	 * channel only, with exactly its two flag sets (peek, consume) and no
	 * timeout. The variants that could take an fd passed along (where the
	 * kernel lacks SO_PASSRIGHTS) or read another channel are trapped. */
	DENY("chan.provider-recvmmsg-other-fd", PV,
	     "recvmmsg(6 = control reader end, [{buf, control buf}], 1, MSG_DONTWAIT|MSG_TRUNC, NULL)", act_recvmmsg,
	     CLAIM(5) | CLAIM(6), .arg = PROVIDER_FD_CONTROL, .arg2 = MSG_DONTWAIT | MSG_TRUNC),
	DENY("chan.provider-recvmmsg-cmsg-cloexec", PV,
	     "recvmmsg(3 = artifact reader end, [{buf, control buf}], 1, MSG_DONTWAIT|MSG_PEEK|MSG_TRUNC|"
	     "MSG_CMSG_CLOEXEC, NULL)",
	     act_recvmmsg, CLAIM(5) | CLAIM(6), .arg = PROVIDER_FD_ARTIFACT,
	     .arg2 = MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_CMSG_CLOEXEC),
	DENY("chan.provider-recvmmsg-errqueue", PV,
	     "recvmmsg(3 = artifact reader end, [{buf, control buf}], 1, MSG_DONTWAIT|MSG_ERRQUEUE, NULL)", act_recvmmsg,
	     CLAIM(5) | CLAIM(6), .arg = PROVIDER_FD_ARTIFACT, .arg2 = MSG_DONTWAIT | MSG_ERRQUEUE),
	REFUSE("chan.intermediary-reads-artifact", IM, "read(4 = artifact writer end) = 0 (EOF)",
	       act_read_eof, 0, MECH_CHANNEL, CLAIM(2), .arg = INTERMEDIARY_FD_ARTIFACT(0)),
	/* On a kernel without SO_PASSRIGHTS the audit expects 0 and the
	 * receiver's discarding of the fd instead (MECH_KERNEL_SCM). */
	REFUSE("chan.intermediary-scm-rights", IM,
	       "sendmmsg(4 = artifact writer end, [{\"x\", SCM_RIGHTS {0}}], 1): refused; nothing reaches the reader "
	       "(host row)",
	       act_send_fd, EPERM, MECH_PASSRIGHTS, CLAIM(3), .arg = INTERMEDIARY_FD_ARTIFACT(0), .passes_fd = true),
	DENY("chan.association-writes-signal", AS, "sendto(4 = signal reader end, \"x\", MSG_NOSIGNAL)", act_send,
	     CLAIM(7), .arg = ASSOCIATION_FD_SIGNAL(0)),
	REFUSE("chan.association-writes-signal-unsealed", AS,
	       "sendto(4 = signal reader end, \"x\", MSG_NOSIGNAL) before seccomp", act_send, EPIPE, MECH_CHANNEL,
	       CLAIM(7), .arg = ASSOCIATION_FD_SIGNAL(0), .before_seal = true),
	/* the ledger */
	DENY("ledger.ftruncate", AS, "ftruncate(3 = ledger, 0)", act_ftruncate_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.pwrite", AS, "pwrite64(3 = ledger, \"{}\\n\", 3, 0)", act_pwrite_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.lseek", AS, "lseek(3 = ledger, 0, SEEK_SET)", act_lseek_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.mmap-shared-write", AS, "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3 = ledger, 0)",
	     act_mmap_ledger_shared, CLAIM(7) | CLAIM(9)),
	REFUSE("ledger.mmap-shared-write-unsealed", AS,
	       "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3 = ledger, 0) before seccomp", act_mmap_ledger_shared,
	       EACCES, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	REFUSE("ledger.ftruncate-unsealed", AS, "ftruncate(3 = ledger, 0) before seccomp", act_ftruncate_ledger,
	       EPERM, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	/* without FS_APPEND_FL on its filesystem, an association that could
	 * clear O_APPEND would seek to 0 and overwrite line 1 */
	DENY("ledger.fcntl-clear-append", AS, "fcntl(3 = ledger, F_SETFL, O_WRONLY) (clears O_APPEND)",
	     act_clear_append_ledger, CLAIM(7) | CLAIM(9)),
	REFUSE("ledger.fcntl-clear-append-unsealed", AS, "fcntl(3 = ledger, F_SETFL, O_WRONLY) before seccomp",
	       act_clear_append_ledger, EPERM, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	/* a provider with exec = yes: the same sandbox its evaluator or handler
	 * inherits (filter, mounts, Landlock, rlimits survive execve); where
	 * provider-exec.policy allows the call, the layer beneath must refuse */
	REFUSE("exec.open-other-key", PVX, "openat(<host path of another provider's signal.key>, O_RDONLY)", act_open,
	       ENOENT, MECH_MNTNS, CLAIM(4) | CLAIM(6), .path = "@other_key", .arg = O_RDONLY),
	REFUSE("exec.open-ledger", PVX, "openat(<ledger>, O_RDWR)", act_open, ENOENT, MECH_MNTNS, CLAIM(4),
	       .path = "@ledger", .arg = O_RDWR),
	REFUSE("exec.write-usr", PVX, "openat(\"/usr/mpbs-audit\", O_WRONLY|O_CREAT|O_EXCL) (read-only bind)",
	       act_open, EROFS, MECH_MNTNS, CLAIM(4) | KERNEL, .path = "/usr/mpbs-audit",
	       .arg = O_WRONLY | O_CREAT | O_EXCL),
	REFUSE("exec.write-bin", PVX, "openat(\"/bin/mpbs-audit\", O_WRONLY|O_CREAT|O_EXCL) (read-only bind)",
	       act_open, EROFS, MECH_MNTNS, CLAIM(4) | KERNEL, .path = "/bin/mpbs-audit",
	       .arg = O_WRONLY | O_CREAT | O_EXCL),
	REFUSE("exec.execve-bin-true", PVX, "execve(\"/bin/true\") (control: a handler can run)",
	       act_execve, 0, MECH_SECCOMP, 0, .path = "/bin/true"),
	REFUSE("exec.dev-mem", PVX, "openat(\"/dev/mem\", O_RDONLY)", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .path = "/dev/mem", .arg = O_RDONLY),
	REFUSE("exec.dev-kmsg", PVX, "openat(\"/dev/kmsg\", O_WRONLY)", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .path = "/dev/kmsg", .arg = O_WRONLY),
	REFUSE("exec.core-pattern", PVX, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY) (subset=pid /proc)",
	       act_open, ENOENT, MECH_MNTNS, KERNEL, .path = "/proc/sys/kernel/core_pattern", .arg = O_WRONLY),
	REFUSE("exec.kill-other-role", PVX, "kill(<another role's host pid>, SIGKILL)", act_kill, ESRCH, MECH_PIDNS,
	       CLAIM(4) | CLAIM(7)),
	REFUSE("exec.clone3-newuser", PVX, "clone3({.flags = CLONE_NEWUSER}) (policy answers ENOSYS)",
	       act_clone3_newuser, ENOSYS, MECH_SECCOMP, KERNEL),
	DENY("exec.clone-newuser", PVX, "clone(CLONE_NEWUSER|SIGCHLD)", act_clone_newuser, KERNEL),
	REFUSE("exec.fork-bomb", PVX, "clone(SIGCHLD) until it fails: EAGAIN at the topology's nproc, host unaffected",
	       act_fork_bomb, 0, MECH_RLIMIT, CLAIM(4) | KERNEL, .pause_for_host = true),
	/* No code written at run time, the exec'd program's own Landlock
	 * domain, the provider's /proc, default rlimits. */
	DENY("exec.memfd-exec", PVX, "memfd_create + write(<ret page>) + mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE, memfd)",
	     act_memfd_exec, KERNEL),
	REFUSE("exec.state-mmap-exec", PVX,
	       "openat(\"/state\", O_TMPFILE) + write(<ret page>) + mmap(PROT_READ|PROT_EXEC): noexec mount",
	       act_state_mmap_exec, EPERM, MECH_MNTNS, KERNEL, .needs_state = true),
	REFUSE("exec.map-libc-exec", PVX, "openat(<libc.so.6>) + mmap(PROT_READ|PROT_EXEC) (control: the loader's way)",
	       act_map_libc, 0, MECH_MNTNS, 0),
	REFUSE("exec.program-signal-key", PVX, "as its exec'd program: openat(\"/keys/signal.key\", O_RDONLY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "/keys/signal.key",
	       .arg = O_RDONLY),
	REFUSE("exec.program-keys-dir", PVX, "as its exec'd program: openat(\"/keys\", O_RDONLY|O_DIRECTORY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "/keys",
	       .arg = O_RDONLY | O_DIRECTORY),
	REFUSE("exec.program-policy", PVX, "as its exec'd program: openat(\"/policy/<its policy>\", O_RDONLY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "@own_policy",
	       .arg = O_RDONLY),
	/* its provider (pid 1) is not dumpable, and the program's domain is
	 * narrower than the provider's: either way the program may not
	 * ptrace-read it, so hidepid=invisible hides it from /proc */
	REFUSE("exec.program-provider-mem", PVX, "as its exec'd program: openat(\"/proc/1/mem\" = its provider's)",
	       program_open, ENOENT, MECH_MNTNS, CLAIM(6), .as_program = true, .path = "/proc/1/mem", .arg = O_RDONLY),
	REFUSE("exec.program-provider-fd", PVX, "as its exec'd program: openat(\"/proc/1/fd/4\" = its signal channel)",
	       program_open, ENOENT, MECH_MNTNS, CLAIM(6), .as_program = true, .path = "@provider_signal_fd",
	       .arg = O_RDONLY),
	REFUSE("exec.program-reads-usr", PVX, "as its exec'd program: openat(\"/etc/ld.so.cache\") (control)",
	       program_open, 0, MECH_PROGRAM_LANDLOCK, 0, .as_program = true, .path = "/etc/ld.so.cache",
	       .arg = O_RDONLY),
	REFUSE("proc.hidepid", PV, "statfs(/proc) ro procfs; /proc/sys ENOENT; /proc/1 only its own; "
	       "openat(/proc/self/comm, O_WRONLY) EROFS|EACCES", act_proc_view, 0, MECH_MNTNS, CLAIM(4) | KERNEL,
	       .before_seal = true),
	REFUSE("self.rlimits", AS, "prlimit64: RLIMIT_CORE 0, RLIMIT_AS and RLIMIT_NOFILE finite", act_rlimits, 0,
	       MECH_RLIMIT, KERNEL, .before_seal = true),
	REFUSE("self.rlimits-fsize", IM | PV, "prlimit64: RLIMIT_CORE 0, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_FSIZE finite",
	       act_rlimits, 0, MECH_RLIMIT, KERNEL, .before_seal = true, .arg = 1),
	/* forged signals, judged by a real association from its ledger (audit_after_probe.c) */
	{ .id = "sig.forge-fork-reorder-wrongkey", .roles = PV,
	  .action = "sendto(4 = own signal channel): a signal claiming another provider, another history under a recorded seq, "
		    "seq out of order, a checkpoint signed with another key; each after a valid signed epoch",
	  .expect_code = 0, .mechanism = MECH_CHAIN, .claims = CLAIM(6), .act_keyed = act_forge_signals },
	/* the process's own state */
	REFUSE("self.capabilities-empty", ALL_BR, "capget() and PR_CAPBSET_READ: every set empty", act_caps_empty, 0,
	       MECH_CAPS, KERNEL, .before_seal = true),
	REFUSE("self.no-new-privs", ALL_BR, "prctl(PR_GET_NO_NEW_PRIVS) = 1", act_no_new_privs, 0, MECH_NNP, KERNEL,
	       .before_seal = true),
	REFUSE("self.fd-table", ALL_BR, "fcntl(fd, F_GETFD) for fd 3..1023: only the fds it was given", act_fd_table, 0,
	       MECH_FDS, CLAIM(4) | CLAIM(6) | CLAIM(7)),
};

const size_t probe_count = sizeof(probe_table) / sizeof(probe_table[0]);

int probe_main(void *arg, const struct role_seal *seal)
{
	const struct probe_call *call = arg;
	char err[512];
	uint8_t sk[64];
	if (call->def->act_keyed && keys_load_signal_secret("/keys/" KEYS_SECRET_NAME, sk, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (call->def->as_program &&
	    exec_domain_prepare(call->env->program_rules, call->env->n_program_rules,
				call->env->program_landlock_weakened, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (!call->def->before_seal && seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (call->def->act_keyed) {
		int rc = call->def->act_keyed(call->def, call->env, sk);
		sodium_memzero(sk, sizeof(sk));
		return rc;
	}
	return call->def->act(call->def, call->env);
}

int probe_idle_main(void *arg, const struct role_seal *seal)
{
	const struct probe_idle_args *args = arg;
	char err[512];
	if (args) {
		unsigned char rec[1 + sizeof(struct probe_self_report)];
		struct probe_self_report rep;
		probe_self_report(args, &rep);
		rec[0] = PROBE_STATUS_SELF;
		memcpy(rec + 1, &rep, sizeof(rep));
		if (write(args->status_fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			return PROBE_EXIT_SEAL;
	}
	if (seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	for (;;) {
		struct timespec t = { .tv_sec = 3600 };
		syscall(SYS_nanosleep, &t, NULL);
	}
}
