#define _GNU_SOURCE
/* The probe actions and their table. Every action uses the raw syscall, so
 * the call the kernel sees is exactly the one named in the table (no glibc
 * wrapper adds or substitutes calls). Actions that could do harm if a layer
 * were missing use arguments that stay harmless even then: the audit's
 * weakening switches really remove layers. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define X32_SYSCALL_BIT 0x40000000L

static int errno_or_zero(long rc)
{
	return rc < 0 ? errno : 0;
}

static struct sockaddr_in loopback(int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* ---- network ---- */

static int act_socket(const struct probe_def *d, const struct probe_env *e)
{
	int family = (int)d->arg;
	int type = family == AF_PACKET || family == AF_NETLINK ? SOCK_RAW : SOCK_STREAM;
	if (family == AF_UNIX)
		type = SOCK_SEQPACKET;
	return errno_or_zero(syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0));
}

static int act_connect_tcp(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, sizeof(sa)));
}

/* connect on the listener the intermediary holds at fd 3. */
static int act_connect_listener(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	return errno_or_zero(syscall(SYS_connect, 3, &sa, sizeof(sa)));
}

static int act_connect_abstract(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, "\0mpbs-provider-B", 16);
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 16);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, len));
}

/* ---- files ---- */

static const char *target_path(const struct probe_def *d, const struct probe_env *e, char *buf, size_t len)
{
	if (strcmp(d->path, "@other_key") == 0)
		return e->other_key;
	if (strcmp(d->path, "@ledger") == 0)
		return e->ledger;
	if (strcmp(d->path, "@topology") == 0)
		return e->topology;
	if (strcmp(d->path, "@escape") == 0) {
		snprintf(buf, len, "/keys/../../..%s", e->other_key);
		return buf;
	}
	if (strcmp(d->path, "@victim_mem") == 0) {
		snprintf(buf, len, "/proc/%d/mem", (int)e->victim_pid);
		return buf;
	}
	return d->path;
}

static int act_open(const struct probe_def *d, const struct probe_env *e)
{
	char buf[4200];
	const char *path = target_path(d, e, buf, sizeof(buf));
	return errno_or_zero(syscall(SYS_openat, AT_FDCWD, path, (int)d->arg | O_CLOEXEC));
}

static int act_execve(const struct probe_def *d, const struct probe_env *e)
{
	char *const argv[] = { (char *)d->path, NULL };
	char *const envp[] = { NULL };
	return errno_or_zero(syscall(SYS_execve, d->path, argv, envp));
}

static int act_ftruncate_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ftruncate, 3, 0L));
}

static int act_pwrite_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pwrite64, 3, "{}\n", 3UL, 0L));
}

/* ---- processes ---- */

static int act_kill(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kill, e->victim_pid, SIGKILL));
}

static int act_ptrace(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ptrace, PTRACE_ATTACH, e->victim_pid, 0L, 0L));
}

static int act_process_vm_readv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };
	return errno_or_zero(syscall(SYS_process_vm_readv, e->victim_pid, &local, 1UL, &remote, 1UL, 0UL));
}

static int act_pidfd_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pidfd_open, e->victim_pid, 0U));
}

static int act_fork(const struct probe_def *d, const struct probe_env *e)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

/* ---- namespaces and mounts ---- */

static int act_unshare(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_unshare, d->arg));
}

static int act_clone3_newuser(const struct probe_def *d, const struct probe_env *e)
{
	struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } args = {
		.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

static int act_setns(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setns, 3, CLONE_NEWNET));
}

static int act_mount(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mount, "none", "/", "tmpfs", 0UL, "size=1m"));
}

static int act_pivot_root(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pivot_root, ".", "."));
}

static int act_fsopen(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_fsopen, "tmpfs", 1U /* FSOPEN_CLOEXEC */));
}

static int act_open_tree(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_open_tree, AT_FDCWD, "/", 1U /* OPEN_TREE_CLONE */ | O_CLOEXEC));
}

/* ---- kernel interfaces ---- */

static int act_bpf(const struct probe_def *d, const struct probe_env *e)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	return errno_or_zero(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int act_perf_event_open(const struct probe_def *d, const struct probe_env *e)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	return errno_or_zero(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL));
}

static int act_userfaultfd(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

static int act_io_uring_setup(const struct probe_def *d, const struct probe_env *e)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	return errno_or_zero(syscall(SYS_io_uring_setup, 8U, &params));
}

static int act_keyctl(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0L));
}

static int act_add_key(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_add_key, "user", "mpbs-audit", "x", 1UL, KEY_SPEC_PROCESS_KEYRING));
}

static int act_init_module(const struct probe_def *d, const struct probe_env *e)
{
	static const char not_a_module[16];
	return errno_or_zero(syscall(SYS_init_module, not_a_module, sizeof(not_a_module), ""));
}

static int act_finit_module(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_finit_module, 0, "", 0));
}

static int act_kexec_load(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); /* unload: harmless */
}

static int act_reboot(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				     LINUX_REBOOT_CMD_CAD_ON, NULL));
}

static int act_swapon(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_swapon, "/mpbs-audit-swap", 0));
}

/* Sets the clock to what it reads: harmless even if it were allowed. */
static int act_clock_settime(const struct probe_def *d, const struct probe_env *e)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return errno;
	return errno_or_zero(syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
}

static int act_sethostname(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sethostname, "mpbs-audit", 10UL));
}

static int act_raise_rlimit(const struct probe_def *d, const struct probe_env *e)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	return errno_or_zero(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &unlimited, NULL));
}

static int act_setuid0(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setuid, 0));
}

static int act_tiocsti(const struct probe_def *d, const struct probe_env *e)
{
	char c = 'x';
	return errno_or_zero(syscall(SYS_ioctl, 0, TIOCSTI, &c));
}

#if defined(__x86_64__)
/* i386 getpid (20) through int 0x80. */
static int act_int80(const struct probe_def *d, const struct probe_env *e)
{
	long rc;
	__asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	return rc < 0 ? (int)-rc : 0;
}

static int act_x32(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(X32_SYSCALL_BIT | SYS_getpid));
}
#endif

/* ---- memory ---- */

static int act_mmap_wx(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_WRITE | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L));
}

static int act_mprotect_exec(const struct probe_def *d, const struct probe_env *e)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	return errno_or_zero(syscall(SYS_mprotect, p, 4096UL, PROT_READ | PROT_EXEC));
}

/* ---- IPC ---- */

static int act_shmget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_shmget, IPC_PRIVATE, 4096UL, IPC_CREAT | 0600));
}

static int act_msgget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600));
}

static int act_mq_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mq_open, "mpbs-audit", O_RDWR | O_CREAT, 0600, NULL));
}

/* ---- channels ---- */

static int act_send(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sendto, d->arg, "x", 1UL, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0));
}

/* 0 = end of file at once: the peer can never send (a two-way channel
 * with nothing queued would say EAGAIN). */
static int act_recv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[64];
	long n = syscall(SYS_recvfrom, d->arg, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	return n < 0 ? errno : n > 0 ? PROBE_EXIT_DATA : 0;
}

/* ---- the process's own state (read after every other step) ---- */

static int act_caps_empty(const struct probe_def *d, const struct probe_env *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];
	if (syscall(SYS_capget, &h, c) < 0)
		return errno;
	for (int i = 0; i < 2; i++)
		if (c[i].effective || c[i].permitted || c[i].inheritable)
			return PROBE_EXIT_DATA;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return PROBE_EXIT_DATA;
	return 0;
}

static int act_no_new_privs(const struct probe_def *d, const struct probe_env *e)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : PROBE_EXIT_DATA;
}

/* Only fds 0..2 and the ones it was given (3..3+arg-1) are open; F_GETFD
 * is in every role's policy, so this runs sealed. */
static int act_fd_table(const struct probe_def *d, const struct probe_env *e)
{
	for (long fd = 3; fd < 1024; fd++) {
		bool open_now = syscall(SYS_fcntl, fd, F_GETFD) >= 0;
		if (open_now != (fd < 3 + e->n_fds))
			return PROBE_EXIT_DATA;
	}
	return 0;
}

const char *probe_mechanism_name(enum probe_mechanism m)
{
	static const char *const names[MECH_COUNT] = {
		[MECH_SECCOMP] = "seccomp", [MECH_NETNS] = "netns", [MECH_PIDNS] = "pidns",
		[MECH_MNTNS] = "mntns", [MECH_LANDLOCK] = "landlock", [MECH_CHANNEL] = "one-way channel",
		[MECH_CAPS] = "capabilities", [MECH_NNP] = "no_new_privs", [MECH_USERNS] = "userns",
		[MECH_INODE_FLAG] = "append-only inode", [MECH_FDS] = "close_range",
		[MECH_NAMESPACES] = "namespaces",
	};
	return m < MECH_COUNT ? names[m] : "?";
}

#define IM PROBE_ROLE_INTERMEDIARY
#define AS PROBE_ROLE_ASSOCIATION
#define PV PROBE_ROLE_PROVIDER
#define ALL PROBE_ROLE_ALL
#define KERNEL CLAIM(8)
#define NET_OUT (CLAIM(3) | CLAIM(5) | CLAIM(7))

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
	DENY("net.socket-packet", ALL, "socket(AF_PACKET, SOCK_RAW, 0)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_PACKET),
	DENY("net.socket-netlink", ALL, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_NETLINK),
	DENY("net.socket-vsock", ALL, "socket(AF_VSOCK, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_VSOCK),
	DENY("net.socket-unix", IM | AS, "socket(AF_UNIX, SOCK_SEQPACKET, 0)", act_socket,
	     CLAIM(3) | CLAIM(7), .arg = AF_UNIX),
	DENY("net.connect-listener-port", PV, "socket(AF_INET) + connect(127.0.0.1:<listen port>)", act_connect_tcp,
	     CLAIM(4) | CLAIM(5)),
	DENY("net.connect-on-listener", IM, "connect(3 = listener, 127.0.0.1:<listen port>)", act_connect_listener,
	     CLAIM(3)),
	DENY("net.connect-abstract", PV, "socket(AF_UNIX) + connect(\"\\0mpbs-provider-B\")", act_connect_abstract,
	     CLAIM(4)),
	/* files and programs */
	DENY("fs.open-other-key", ALL, "openat(AT_FDCWD, <host path of another provider's signal.key>, O_RDONLY)",
	     act_open, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.open-other-key-unsealed", ALL, "openat(<host path of another provider's signal.key>) before seccomp",
	       act_open, ENOENT, MECH_MNTNS, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .before_seal = true,
	       .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.keys-dotdot-escape", PV, "openat(\"/keys/../../..<host key path of B>\") before seccomp", act_open,
	       ENOENT, MECH_MNTNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@escape", .arg = O_RDONLY),
	DENY("fs.open-ledger", IM | PV, "openat(<ledger>, O_RDWR)", act_open, CLAIM(1) | CLAIM(3) | CLAIM(4),
	     .path = "@ledger", .arg = O_RDWR),
	DENY("fs.open-topology-write", AS, "openat(<topology.conf>, O_WRONLY)", act_open, CLAIM(7),
	     .path = "@topology", .arg = O_WRONLY),
	DENY("fs.execve", ALL, "execve(\"/bin/true\")", act_execve, CLAIM(3) | CLAIM(7) | KERNEL,
	     .path = "/bin/true"),
	REFUSE("fs.execve-unsealed", IM | AS, "execve(\"/bin/true\") before seccomp: empty root", act_execve, ENOENT,
	       MECH_MNTNS, CLAIM(3) | CLAIM(7), .before_seal = true, .path = "/bin/true"),
	DENY("dev.mem", ALL, "openat(\"/dev/mem\", O_RDONLY)", act_open, KERNEL, .path = "/dev/mem", .arg = O_RDONLY),
	REFUSE("dev.mem-unsealed", ALL, "openat(\"/dev/mem\") before seccomp", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .before_seal = true, .path = "/dev/mem", .arg = O_RDONLY),
	DENY("dev.kmsg", ALL, "openat(\"/dev/kmsg\", O_WRONLY)", act_open, KERNEL, .path = "/dev/kmsg",
	     .arg = O_WRONLY),
	DENY("proc.core-pattern", ALL, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY)", act_open, KERNEL,
	     .path = "/proc/sys/kernel/core_pattern", .arg = O_WRONLY),
	REFUSE("proc.core-pattern-unsealed", PV, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY) before seccomp",
	       act_open, EACCES, MECH_LANDLOCK, KERNEL, .before_seal = true, .path = "/proc/sys/kernel/core_pattern",
	       .arg = O_WRONLY),
	/* other processes */
	DENY("proc.kill-other-role", ALL, "kill(<another role's host pid>, SIGKILL)", act_kill,
	     CLAIM(4) | CLAIM(7)),
	REFUSE("proc.kill-other-role-unsealed", ALL, "kill(<another role's host pid>, SIGKILL) before seccomp",
	       act_kill, ESRCH, MECH_PIDNS, CLAIM(4) | CLAIM(7), .before_seal = true),
	DENY("proc.ptrace", ALL, "ptrace(PTRACE_ATTACH, <another role's host pid>)", act_ptrace, CLAIM(4) | KERNEL),
	REFUSE("proc.ptrace-unsealed", ALL, "ptrace(PTRACE_ATTACH, <another role's host pid>) before seccomp",
	       act_ptrace, ESRCH, MECH_PIDNS, CLAIM(4) | KERNEL, .before_seal = true),
	DENY("proc.process-vm-readv", ALL, "process_vm_readv(<another role's host pid>, 16 bytes)",
	     act_process_vm_readv, CLAIM(4) | CLAIM(6)),
	DENY("proc.pidfd-open", ALL, "pidfd_open(<another role's host pid>, 0) (then pidfd_getfd)", act_pidfd_open,
	     CLAIM(4) | CLAIM(6)),
	REFUSE("proc.other-mem-unsealed", PV, "openat(\"/proc/<another role's host pid>/mem\") before seccomp",
	       act_open, ENOENT, MECH_PIDNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@victim_mem",
	       .arg = O_RDONLY),
	DENY("proc.fork", ALL, "clone(SIGCHLD) (fork bomb)", act_fork, CLAIM(4) | KERNEL),
	/* namespaces and mounts */
	DENY("ns.unshare-user", ALL, "unshare(CLONE_NEWUSER)", act_unshare, KERNEL, .arg = CLONE_NEWUSER),
	DENY("ns.unshare-net", ALL, "unshare(CLONE_NEWNET)", act_unshare, KERNEL, .arg = CLONE_NEWNET),
	DENY("ns.clone3-newuser", ALL, "clone3({.flags = CLONE_NEWUSER})", act_clone3_newuser, KERNEL),
	DENY("ns.setns", ALL, "setns(3, CLONE_NEWNET)", act_setns, KERNEL),
	DENY("mnt.mount", ALL, "mount(\"none\", \"/\", \"tmpfs\", 0, \"size=1m\")", act_mount, KERNEL),
	DENY("mnt.pivot-root", ALL, "pivot_root(\".\", \".\")", act_pivot_root, KERNEL),
	DENY("mnt.fsopen", ALL, "fsopen(\"tmpfs\", FSOPEN_CLOEXEC)", act_fsopen, KERNEL),
	DENY("mnt.open-tree", ALL, "open_tree(AT_FDCWD, \"/\", OPEN_TREE_CLONE)", act_open_tree, KERNEL),
	/* kernel interfaces */
	DENY("kern.io-uring-setup", ALL, "io_uring_setup(8, {0})", act_io_uring_setup, KERNEL),
	DENY("kern.bpf", ALL, "bpf(BPF_MAP_CREATE, {ARRAY, 4, 8, 1})", act_bpf, KERNEL),
	DENY("kern.perf-event-open", ALL, "perf_event_open({SOFTWARE, CPU_CLOCK}, 0, -1, -1, 0)",
	     act_perf_event_open, KERNEL),
	DENY("kern.userfaultfd", ALL, "userfaultfd(O_CLOEXEC|O_NONBLOCK)", act_userfaultfd, KERNEL),
	DENY("kern.keyctl", ALL, "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING)", act_keyctl, KERNEL),
	DENY("kern.add-key", ALL, "add_key(\"user\", \"mpbs-audit\", \"x\", 1, KEY_SPEC_PROCESS_KEYRING)",
	     act_add_key, KERNEL),
	DENY("kern.init-module", ALL, "init_module(<16 zero bytes>, 16, \"\")", act_init_module, KERNEL),
	DENY("kern.finit-module", ALL, "finit_module(0, \"\", 0)", act_finit_module, KERNEL),
	DENY("kern.kexec-load", ALL, "kexec_load(0, 0, NULL, 0)", act_kexec_load, KERNEL),
	DENY("kern.reboot", ALL, "reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_CAD_ON)", act_reboot, KERNEL),
	DENY("kern.swapon", ALL, "swapon(\"/mpbs-audit-swap\", 0)", act_swapon, KERNEL),
	DENY("kern.clock-settime", ALL, "clock_settime(CLOCK_REALTIME, <now>)", act_clock_settime, KERNEL),
	DENY("kern.sethostname", ALL, "sethostname(\"mpbs-audit\")", act_sethostname, KERNEL),
	DENY("priv.raise-rlimit", ALL, "prlimit64(0, RLIMIT_NOFILE, {INFINITY, INFINITY}, NULL)", act_raise_rlimit,
	     KERNEL),
	DENY("priv.setuid0", ALL, "setuid(0)", act_setuid0, KERNEL),
	DENY("tty.tiocsti", ALL, "ioctl(0, TIOCSTI, \"x\")", act_tiocsti, KERNEL),
#if defined(__x86_64__)
	DENY("abi.int80", ALL, "int $0x80 with eax = 20 (i386 getpid)", act_int80, KERNEL),
	DENY("abi.x32", ALL, "syscall(__X32_SYSCALL_BIT | SYS_getpid)", act_x32, KERNEL),
#endif
	DENY("mem.mmap-wx", ALL, "mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS)",
	     act_mmap_wx, CLAIM(3) | KERNEL),
	DENY("mem.mprotect-exec", ALL, "mprotect(<rw page>, 4096, PROT_READ|PROT_EXEC)", act_mprotect_exec,
	     CLAIM(3) | KERNEL),
	/* IPC */
	DENY("ipc.shmget", ALL, "shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600)", act_shmget, CLAIM(4)),
	DENY("ipc.msgget", ALL, "msgget(IPC_PRIVATE, IPC_CREAT|0600)", act_msgget, CLAIM(4)),
	DENY("ipc.mq-open", ALL, "mq_open(\"mpbs-audit\", O_RDWR|O_CREAT, 0600, NULL)", act_mq_open, CLAIM(4)),
	/* channels */
	REFUSE("chan.provider-writes-artifact", PV, "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL)", act_send,
	       EPIPE, MECH_CHANNEL, CLAIM(2), .arg = 3),
	REFUSE("chan.provider-reads-signal", PV, "recvfrom(4 = signal writer end, MSG_DONTWAIT) = 0 (EOF)", act_recv,
	       0, MECH_CHANNEL, CLAIM(6), .arg = 4),
	REFUSE("chan.intermediary-reads-artifact", IM, "recvfrom(4 = artifact writer end, MSG_DONTWAIT) = 0 (EOF)",
	       act_recv, 0, MECH_CHANNEL, CLAIM(2), .arg = 4),
	REFUSE("chan.association-writes-signal", AS, "sendto(4 = signal reader end, \"x\", MSG_NOSIGNAL)", act_send,
	       EPIPE, MECH_CHANNEL, CLAIM(7), .arg = 4),
	/* the ledger */
	DENY("ledger.ftruncate", AS, "ftruncate(3 = ledger, 0)", act_ftruncate_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.pwrite", AS, "pwrite64(3 = ledger, \"{}\\n\", 3, 0)", act_pwrite_ledger, CLAIM(7) | CLAIM(9)),
	REFUSE("ledger.ftruncate-unsealed", AS, "ftruncate(3 = ledger, 0) before seccomp", act_ftruncate_ledger,
	       EPERM, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	/* the process's own state */
	REFUSE("self.capabilities-empty", ALL, "capget() and PR_CAPBSET_READ: every set empty", act_caps_empty, 0,
	       MECH_CAPS, KERNEL, .before_seal = true),
	REFUSE("self.no-new-privs", ALL, "prctl(PR_GET_NO_NEW_PRIVS) = 1", act_no_new_privs, 0, MECH_NNP, KERNEL,
	       .before_seal = true),
	REFUSE("self.fd-table", ALL, "fcntl(fd, F_GETFD) for fd 3..1023: only the fds it was given", act_fd_table, 0,
	       MECH_FDS, CLAIM(4) | CLAIM(6) | CLAIM(7)),
};

const size_t probe_count = sizeof(probe_table) / sizeof(probe_table[0]);

int probe_main(void *arg, const struct role_seal *seal)
{
	const struct probe_call *call = arg;
	char err[512];
	if (!call->def->before_seal && seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	return call->def->act(call->def, call->env);
}

int probe_idle_main(void *arg, const struct role_seal *seal)
{
	char err[512];
	if (seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	for (;;) {
		struct timespec t = { .tv_sec = 3600 };
		syscall(SYS_nanosleep, &t, NULL);
	}
}
